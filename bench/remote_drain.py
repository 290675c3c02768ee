"""Drain rate of one remote worker process (Python SDK, Node SDK) against one
in-process executor process and one BullMQ Node worker, on the same machine and
the same bundled valkey, in the same run.

    uv run --frozen python -m bench.remote_drain [--tasks 20000] [--concurrency 32] [--rounds 1]

Each drain: N no-op tasks queued while nothing may take them, then one worker
process (plus, for remote workers, the executor process that serves WorkerService)
drains them; the rate is steady-state (first completion to last). BullMQ is
installed from npm into build/bench-node on first use, never into the project; its
jobs keep their results like ours. Reports tasks/s and the CPU each process spent
per task. The machine is shared: figures are noisy, compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from redis.asyncio import Redis

from bench.common import bundled_server, machine, report
from bench.lifecycle import drain, process_cpu_s, report_drain, server_cpu_s, service, steady_drain
from taskflow.redis_server import free_port
from taskflow.store import NewTask, StoreConfig, TaskState, TaskStore
from taskflow.store.control import ExecutorControl
from taskflow.store.remote import RemoteQueues

ROOT = Path(__file__).resolve().parent.parent
REMOTE = ROOT / "bench" / "remote"
BENCH_NODE = ROOT / "build" / "bench-node"
BULLMQ_VERSION = "5"
KINDS = ("executor", "python", "node", "bullmq")


@contextlib.contextmanager
def process(command: list[str], **env: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


def worker_command(kind: str, address: str, concurrency: int) -> tuple[list[str], dict[str, str]]:
    if kind == "python":
        python = [sys.executable, str(REMOTE / "python_worker.py"), address, str(concurrency)]
        return python, {"PYTHONPATH": str(ROOT / "sdk" / "python" / "src")}
    return ["node", str(REMOTE / "node_worker.mjs"), address, str(concurrency)], {}


async def registered(store: TaskStore, task_type: str) -> None:
    """Until a remote worker has registered `task_type` (its process is up)."""
    for _ in range(600):
        if await RemoteQueues(store).queues_for([task_type]):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no remote worker registered {task_type} within 60 s")


async def remote_drain(url: str, store: TaskStore, n: int, kind: str, concurrency: int) -> None:
    """One executor process serving WorkerService, one remote worker process of `kind`."""
    client = store.client
    control = ExecutorControl(client, store.keys)
    address = f"127.0.0.1:{free_port()}"
    command, env = worker_command(kind, address, concurrency)
    with (
        service("executor", url, TASKFLOW_EXECUTOR_ADDRESS=address) as executor,
        process(command, **env) as worker,
    ):
        await registered(store, "bench_noop")
        await control.pause()
        for start in range(0, n, 1000):
            size = min(1000, n - start)
            await store.create_many([NewTask("bench_noop", "x", queue="bench")] * size)
        await asyncio.sleep(1.0)  # the pause reached the executor (it polls every 0.5 s)
        pids = {"executor": executor.pid, "worker": worker.pid}
        before = {name: process_cpu_s(pid) for name, pid in pids.items()}
        server_before = await server_cpu_s(client)

        async def completed() -> int:
            return (await store.status()).states[TaskState.COMPLETED]

        await client.config_resetstat()
        await control.resume()
        seconds = await steady_drain(completed, n)
        cpu = {name: process_cpu_s(pid) - before[name] for name, pid in pids.items()}
        server = await server_cpu_s(client) - server_before
        scripts = (await client.info("commandstats")).get("cmdstat_evalsha", {})
    await client.flushall()
    report(f"drain: 1 remote {kind} worker process, concurrency {concurrency}", n, seconds)
    print(
        f"{'':<8}CPU per task: {kind} worker {cpu['worker'] / n * 1e6:.0f} µs, executor "
        f"{cpu['executor'] / n * 1e6:.0f} µs, valkey {server / n * 1e6:.0f} µs; "
        f"{n / max(int(scripts.get('calls', 0)), 1):.1f} tasks per script call"
    )


def bullmq_dir() -> Path:
    """build/bench-node with bullmq installed from npm (first use only) and the script."""
    if not (BENCH_NODE / "node_modules" / "bullmq").is_dir():
        BENCH_NODE.mkdir(parents=True, exist_ok=True)
        (BENCH_NODE / "package.json").write_text('{"private": true, "type": "module"}\n')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", f"bullmq@{BULLMQ_VERSION}"],
            cwd=BENCH_NODE, check=True,
        )  # fmt: skip
    shutil.copy(REMOTE / "bullmq_bench.mjs", BENCH_NODE / "bullmq_bench.mjs")
    return BENCH_NODE


async def bullmq_drain(url: str, client: Redis, n: int, concurrency: int) -> None:
    folder = bullmq_dir()
    script = ["node", str(folder / "bullmq_bench.mjs")]
    filler = await asyncio.create_subprocess_exec(*script, "fill", url, str(n), cwd=folder)
    if await filler.wait() != 0:
        raise RuntimeError("queueing the BullMQ jobs failed")

    async def completed() -> int:
        return int(await client.zcard("bull:bench:completed"))

    with process([*script, "work", url, str(concurrency)]) as worker:
        before = process_cpu_s(worker.pid)
        server_before = await server_cpu_s(client)
        seconds = await steady_drain(completed, n)
        cpu = process_cpu_s(worker.pid) - before
        server = await server_cpu_s(client) - server_before
    await client.flushall()
    report(f"drain: 1 BullMQ worker process, concurrency {concurrency}", n, seconds)
    per_task = f"BullMQ worker {cpu / n * 1e6:.0f} µs, valkey {server / n * 1e6:.0f} µs"
    print(f"{'':<8}CPU per task: {per_task}")


async def main(options: argparse.Namespace) -> None:
    n, concurrency = options.tasks, options.concurrency
    print(f"{machine()}, {os.cpu_count()} cores (shared: figures are noisy); bundled valkey")
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        store = TaskStore(client, StoreConfig())
        for index in range(options.rounds):
            print(f"--- round {index + 1} of {options.rounds}")
            if "executor" in options.only:
                result = await drain(server.url, store, n, 1, concurrency)
                report_drain(f"drain: 1 executor process, concurrency {concurrency}", n, result)
            for kind in ("python", "node"):
                if kind in options.only:
                    await remote_drain(server.url, store, n, kind, concurrency)
            if "bullmq" in options.only:
                await bullmq_drain(server.url, client, n, concurrency)
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks per drain")
    parser.add_argument("--concurrency", type=int, default=32, help="slots of every worker")
    parser.add_argument("--rounds", type=int, default=1, help="repeat everything this often")
    parser.add_argument(
        "--only", nargs="+", default=list(KINDS), choices=KINDS, help="which workers to drain with"
    )
    asyncio.run(main(parser.parse_args()))
