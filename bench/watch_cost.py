"""The monitor's cost per short WatchTask: CPU and instructions of the monitor process.

    uv run --frozen python -m bench.watch_cost [--calls 400] [--rounds 2]
        [--callgrind [--keep DIR]] [--against REF] [--profile PATH [--py-spy BIN]] [--cprofile PATH]

Starts the bundled valkey and one monitor (`python -m services.monitor`, default
settings) and makes WatchTask calls one after another, each read to its end:

  finished   the task is COMPLETED before the watch opens (the snapshot ends it)
  finishing  the task is ACTIVE when the watch opens; once its snapshot arrives,
             this process completes it (TaskStore.complete) and reads on to the end

Figures per call: the monitor's CPU (user + system, /proc) and the wall time.
--callgrind runs the monitor under `valgrind --tool=callgrind`, counting only
while the calls run (callgrind_control -i): instructions per call, the same figure
whatever the machine's load (fewer calls are enough: --calls 100). --keep DIR
copies each case's dump there (callgrind.<case>, for callgrind_annotate).
--against REF: REF's tree first (`git archive`, this checkout's bench/ and stubs,
as bench.transition_cost), then this checkout, alternating for --rounds.
--profile PATH: py-spy the monitor over the calls, its summary written to PATH.
--cprofile PATH: run the monitor under cProfile instead, its functions by own time
(the whole run) written to PATH. grpc's Cython shows only where it calls Python.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from grpc import aio
from redis.asyncio import Redis

from bench import foreign, pyspy
from bench.common import bundled_server
from bench.create_callgrind import counted_ir
from bench.lifecycle import process_cpu_s
from bench.transition_callgrind import control
from bench.transition_cost import HERE, archived
from bench.versus_extras import serving
from taskflow.redis_server import free_port
from taskflow.store import NewTask, TaskStore
from taskflow.store.models import ClaimedTask
from taskflow.v1 import monitor_service_pb2 as pb
from taskflow.v1 import monitor_service_pb2_grpc as pb_grpc

CASES = ("finished", "finishing")
WORKER = "bench-watch-cost"
COMMAND = "uv run --frozen python -m bench.watch_cost " + " ".join(sys.argv[1:])


async def claimed(store: TaskStore, n: int) -> list[ClaimedTask]:
    """`n` tasks created and claimed by this process (ACTIVE, held by WORKER)."""
    await store.create_many([NewTask("noop", "x")] * n)
    claims: list[ClaimedTask] = []
    while len(claims) < n:
        claims += await store.claim(WORKER, min(100, n - len(claims)))
    return claims


async def watch_to_end(
    watch: Callable[..., aio.UnaryStreamCall[Any, Any]],
    task_id: str,
    first: Callable[[], Awaitable[None]],
) -> int:
    """One WatchTask read to its end; `first` runs once the snapshot arrived."""
    messages = 0
    async for _ in watch(pb.WatchTaskRequest(task_id=task_id), timeout=60):
        messages += 1
        if messages == 1:
            await first()
    return messages


async def run_case(
    case: str,
    store: TaskStore,
    address: str,
    n: int,
    pid: int,
    counting: bool,
    out: Path,
    keep: Path | None = None,
) -> tuple[float, float, int | None]:
    """CPU µs and wall µs of the monitor per call, and instructions per call under callgrind."""
    claims = await claimed(store, n)
    if case == "finished":
        await store.complete_many([(claim, "ok") for claim in claims])

    async with aio.insecure_channel(address) as channel:
        watch = pb_grpc.MonitorServiceStub(channel).WatchTask

        async def one(claim: ClaimedTask) -> None:
            async def first() -> None:
                if case == "finishing":
                    await store.complete(claim, "ok")

            await watch_to_end(watch, claim.task_id, first)

        await one(claims[0])  # the channel connected, the hub's reader started
        if counting:
            await control("-z", str(pid))
            await control("-i", "on", str(pid))
        cpu = process_cpu_s(pid)
        started = time.perf_counter()
        for claim in claims[1:]:
            await one(claim)
        wall = time.perf_counter() - started
        cpu = process_cpu_s(pid) - cpu
        ir = None
        if counting:
            await control("-i", "off", str(pid))
            await control("-d", str(pid))
            ir = take_dumps(out, keep, case) // (n - 1)
    return cpu / (n - 1) * 1e6, wall / (n - 1) * 1e6, ir


def take_dumps(out: Path, keep: Path | None, case: str) -> int:
    """The instructions in the dumps callgrind_control -d wrote; the dumps removed
    (or moved to `keep`)."""
    total = 0
    for dump in out.parent.glob(out.name + ".*"):
        total += counted_ir(dump)
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
            dump.rename(keep / f"callgrind.{case}")
        else:
            dump.unlink()
    return total


def measure(tree: Path, options: argparse.Namespace) -> None:
    """One monitor from `tree` (under callgrind or cProfile if asked), both cases."""
    with bundled_server() as server, tempfile.TemporaryDirectory() as tmp:
        address = f"127.0.0.1:{free_port()}"
        env = dict(
            os.environ,
            REDIS_URL=server.url,
            TASKFLOW_MONITOR_ADDRESS=address,
            TASKFLOW_MONITOR_METRICS_PORT=str(free_port()),
            PYTHONPATH=str(tree),
        )
        command = [sys.executable, "-m", "services.monitor"]
        if options.cprofile:
            command = [sys.executable, "-m", "cProfile", "-o", str(Path(tmp) / "monitor.prof"),
                       "-m", "services.monitor"]  # fmt: skip
        elif options.callgrind:
            command = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                       f"--callgrind-out-file={Path(tmp) / 'callgrind.out'}", *command]  # fmt: skip
        with (Path(tmp) / "monitor.log").open("ab") as log:
            monitor = subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=log)
        try:
            stacks = asyncio.run(drive(server.url, address, monitor.pid, Path(tmp), options))
        finally:
            monitor.terminate()
            monitor.wait(120)
        if stacks is not None:
            Path(options.profile).write_text(
                f"# py-spy of the monitor over {options.calls} WatchTask calls per case"
                f" ({', '.join(CASES)}), load {os.getloadavg()[0]:.2f}\n# command: {COMMAND}\n"
                + "\n".join(pyspy.summary(stacks, top=30))
                + "\n"
            )
        if options.cprofile:
            write_cprofile(Path(tmp) / "monitor.prof", Path(options.cprofile))


async def drive(
    url: str, address: str, pid: int, tmp: Path, options: argparse.Namespace
) -> Path | None:
    """Both cases against the monitor at `address`; the py-spy stacks if recorded."""
    await serving(address)
    async with Redis.from_url(url) as client:
        store = TaskStore(client)
        recording = None
        if options.profile:
            py_spy = Path(options.py_spy) if options.py_spy else foreign.bench_env() / "py-spy"
            recording = pyspy.Recording(py_spy, pid, tmp / "stacks.txt")
            await recording.start()
            await asyncio.sleep(1.0)  # py-spy attached
        for case in CASES:
            load = os.getloadavg()[0]
            keep = Path(options.keep) if options.keep else None
            cpu, wall, ir = await run_case(
                case, store, address, options.calls + 1, pid, options.callgrind,
                tmp / "callgrind.out", keep,
            )  # fmt: skip
            instructions = f"   {ir:>12,} instructions" if ir is not None else ""
            print(
                f"  {case:<10} monitor CPU {cpu:7.0f} µs/call   wall {wall:7.0f} µs/call"
                f"{instructions}   (load {load:.2f})",
                flush=True,
            )
        if recording is None:
            return None
        await recording.stop()
        return recording.out


def write_cprofile(raw: Path, into: Path) -> None:
    """The monitor's cProfile (its whole run: start-up, warm-up, both cases), by own time."""
    text = io.StringIO()
    stats = pstats.Stats(str(raw), stream=text)
    stats.sort_stats("tottime").print_stats(40)
    into.write_text(
        f"# cProfile of the monitor (load {os.getloadavg()[0]:.2f})\n# command: {COMMAND}\n"
        + text.getvalue()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--against", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--cprofile", default="", help="cProfile the monitor, text to PATH")
    parser.add_argument("--keep", default="", help="with --callgrind: keep each case's dump here")
    parser.add_argument("--py-spy", default="", help="py-spy binary (default: the bench env's)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = [("this checkout", HERE)]
        if options.against:
            trees.insert(0, (options.against, archived(options.against, Path(tmp))))
        for round_no in range(1, options.rounds + 1):
            order = trees if round_no % 2 else trees[::-1]
            for label, tree in order:
                print(f"{label} (round {round_no}):", flush=True)
                measure(tree, options)


if __name__ == "__main__":
    main()
