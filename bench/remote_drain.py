"""Drain rate of one remote worker process (Python SDK, Node SDK) against one
executor process with in-process handlers and one BullMQ worker, in the same run.

    make sdk-typescript   # once: the Node worker runs the SDK's build
    uv run --frozen python -m bench.remote_drain [--tasks 20000] [--rounds 3]
    uv run --frozen python -m bench.remote_drain --profile   # where the time goes

Same setting as bench/versus.py, whose BullMQ install (build/bench-bullmq, BullMQ 6.7
pinned by bench/bullmq) and measuring it reuses: each system on its own bundled
valkey (appendonly yes, appendfsync everysec), N no-op tasks queued while nothing may
take them, then the workers drain them; rate from the first completion to the last,
CPU from /proc of every process involved. Rounds are interleaved (the order rotates
each round). Every worker runs at BullMQ's concurrency (50). A remote worker needs
the executor process that serves WorkerService: its CPU is counted with the worker's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from redis.asyncio import Redis

from bench import bullmq_side, foreign, node_profile, pyspy, versus_extras
from bench.common import host
from bench.lifecycle import process_cpu_s
from bench.ours_side import server_pid, service
from bench.versus import (
    Drain,
    Sides,
    bullmq,
    interleaved,
    line,
    measure,
    ours,
    printed_medians,
    side_by_side,
)
from taskflow.redis_server import free_port
from taskflow.store import NewTask, StoreConfig, TaskState, TaskStore
from taskflow.store.control import ExecutorControl
from taskflow.store.remote import RemoteQueues

ROOT = Path(__file__).resolve().parent.parent
REMOTE = ROOT / "bench" / "remote"
NODE_SDK = ROOT / "sdk" / "typescript" / "dist" / "src" / "index.js"
CONCURRENCY = bullmq_side.CONCURRENCY
PYTHON = "remote Python worker + executor"
NODE = "remote Node worker + executor"
PREFETCHING = "remote Node worker, prefetch + executor"
PY_PREFETCHING = "remote Python worker, prefetch + executor"
BULLMQ = "BullMQ, 1 worker process"


@contextlib.contextmanager
def worker_process(
    kind: str, address: str, profile_dir: Path | None = None, prefetch: int = 0
) -> Iterator[subprocess.Popen[bytes]]:
    if kind == "python":
        script = str(REMOTE / "python_worker.py")
        command = [sys.executable, script, address, str(CONCURRENCY), str(prefetch)]
        env = {"PYTHONPATH": str(ROOT / "sdk" / "python" / "src")}
    else:
        profiling = ["--cpu-prof", f"--cpu-prof-dir={profile_dir}"] if profile_dir else []
        script = str(REMOTE / "node_worker.mjs")
        command = ["node", *profiling, script, address, str(CONCURRENCY), str(prefetch)]
        env = {}
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)


async def registered(store: TaskStore, task_type: str) -> None:
    """Until a remote worker has registered `task_type` (its stream is open)."""
    for _ in range(1200):
        if await RemoteQueues(store).queues_for([task_type]):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no remote worker registered {task_type} within 60 s")


async def remote(
    client: Redis,
    url: str,
    n: int,
    kind: str,
    log_dir: Path,
    profile_dir: Path | None = None,
    prefetch: int = 0,
    label: str = "",
) -> Drain:
    """One executor process serving WorkerService and one remote worker process
    (holding `prefetch` tasks beyond its concurrency); with `profile_dir`,
    py-spy samples the executor and a Node worker runs under --cpu-prof, both writing
    there."""
    store = TaskStore(client, StoreConfig())
    control = ExecutorControl(client, store.keys)
    address = f"127.0.0.1:{free_port()}"
    with contextlib.ExitStack() as stack:
        executor = stack.enter_context(
            service("executor", url, log_dir, TASKFLOW_EXECUTOR_ADDRESS=address)
        )
        # The worker connects once the executor answers (gRPC health), so it starts
        # with a stream, not a refused connection and a retry.
        await versus_extras.serving(address)
        worker = stack.enter_context(worker_process(kind, address, profile_dir, prefetch))
        await registered(store, "bench_noop")
        await control.pause()
        # The pause reaches the executor before the tasks do (it polls every 0.5 s):
        # else its session claims them as they come, and the drain is over before
        # it is measured.
        await asyncio.sleep(1.0)
        for start in range(0, n, 1000):
            await store.create_many(
                [NewTask("bench_noop", "x", queue="bench")] * min(1000, n - start)
            )

        async def completed() -> int:
            return (await store.status()).states[TaskState.COMPLETED]

        recording = None
        if profile_dir is not None:
            stacks = profile_dir / "executor-stacks.txt"
            recording = pyspy.Recording(foreign.bench_env() / "py-spy", executor.pid, stacks)

        async def begin() -> None:
            if recording is not None:
                await recording.start()
            await control.resume()

        before = process_cpu_s(executor.pid)
        began = time.monotonic()
        result = await measure(
            n, [executor.pid, worker.pid], await server_pid(client), begin, completed, client
        )
        executor_us = (process_cpu_s(executor.pid) - before) / n * 1e6
        if recording is not None:
            await recording.stop()
        if profile_dir is not None:  # the node profile's samples to read
            (profile_dir / "drain-window").write_text(f"{began} {time.monotonic()}")
    await client.flushall()
    per_call = 1 / result.scripts if result.scripts else 0.0
    # Printed before the drain's own line (the rounds print that): named, so it is
    # not read as the line above's.
    print(
        f"    {label or kind}: of the worker CPU, the executor serving it "
        f"{executor_us:.0f} µs/task; {per_call:.1f} tasks per script call"
    )
    return result


async def rounds(
    servers: dict[str, tuple[Redis, str]], options: argparse.Namespace, log_dir: Path
) -> dict[str, list[Drain]]:
    ours_client, ours_url = servers["ours"]
    bull_client, bull_url = servers["bullmq"]
    n = options.tasks
    sides: Sides = {
        "ours, 1 executor process": lambda: ours(ours_client, ours_url, n, 1, log_dir),
        PYTHON: lambda: remote(ours_client, ours_url, n, "python", log_dir, label=PYTHON),
        PY_PREFETCHING: lambda: remote(
            ours_client,
            ours_url,
            n,
            "python",
            log_dir,
            prefetch=options.prefetch,
            label=PY_PREFETCHING,
        ),
        NODE: lambda: remote(ours_client, ours_url, n, "node", log_dir, label=NODE),
        PREFETCHING: lambda: remote(
            ours_client,
            ours_url,
            n,
            "node",
            log_dir,
            prefetch=options.prefetch,
            label=PREFETCHING,
        ),
        BULLMQ: lambda: bullmq(bull_client, bull_url, n),
    }
    chosen = {label: side for label, side in sides.items() if any(w in label for w in options.only)}
    return await interleaved(chosen, options.rounds, rotate)


def rotate(index: int, labels: list[str]) -> list[str]:
    """Round `index`'s order: each round starts one side later than the last."""
    shift = index % len(labels)
    return labels[shift:] + labels[:shift]


def summary(results: dict[str, list[Drain]]) -> None:
    medians = printed_medians(results)
    bull = medians.get(BULLMQ)
    for label in (NODE, PREFETCHING):
        node = medians.get(label)
        if bull and node:
            pairs = zip(results[label], results[BULLMQ], strict=True)
            per_round = [f"{ours_.rate / theirs.rate:.2f}" for ours_, theirs in pairs]
            print(f"{label} / BullMQ: median {node.rate / bull.rate:.2f}x, rounds {per_round}")


async def profile(servers: dict[str, tuple[Redis, str]], n: int, tmp: Path, prefetch: int) -> None:
    """One Node worker drain with the executor under py-spy and the worker under
    --cpu-prof; where each process's time went."""
    client, url = servers["ours"]
    drain = await remote(client, url, n, "node", tmp, profile_dir=tmp, prefetch=prefetch)
    print(line("remote Node worker + executor (profiled)", drain))
    print("the executor serving WorkerService (py-spy):")
    print("\n".join(pyspy.summary(tmp / "executor-stacks.txt", top=25)))
    began, ended = map(float, (tmp / "drain-window").read_text().split())
    for path in node_profile.written(tmp):
        print("the Node worker (node --cpu-prof), over the drain:")
        print("\n".join(node_profile.summary(path, (began, ended), n)))


async def main(options: argparse.Namespace) -> None:
    if not NODE_SDK.exists():
        raise SystemExit("build the TypeScript SDK first: make sdk-typescript")
    bullmq_side.install()
    print(host())
    print(
        f"{options.tasks:,} no-op tasks per drain, concurrency {CONCURRENCY}, "
        f"prefetch {options.prefetch}",
        flush=True,
    )
    async with side_by_side("bench-remote-") as (servers, tmp):
        if options.profile:
            await profile(servers, options.tasks, tmp, options.prefetch)
        else:
            summary(await rounds(servers, options, tmp))
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average after the run {load}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks per drain")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--prefetch",
        type=int,
        default=CONCURRENCY,
        help="tasks the prefetching workers (and a profiled Node one) hold beyond their slots",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=["ours", "Python", "Node", "BullMQ"],
        choices=["ours", "Python", "Node", "BullMQ"],
        help="which drains to run",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of the rounds: one Node worker drain, the executor under py-spy "
        "and the worker under node --cpu-prof; where their time went",
    )
    asyncio.run(main(parser.parse_args()))
