"""Where a unary CreateTask's time goes: the scheduler under cProfile while one client
sends creates (sequential, or --in-flight at a time), then the profile's top
functions as a text table (docs/profiles/create-*.txt come from here).

    uv run --frozen python -m bench.profile_create [--calls 3000] [--in-flight 1]
        [--batch 0] [--sort tottime] [--callers REGEX]

The scheduler runs as its own process (this module with --serve: the scheduler as
`taskflow scheduler` runs it, at default settings, profiled from after its imports)
on a fresh bundled valkey; it stops on SIGTERM, which is when the profile is
written. The client is a plain grpc.aio stub in this process. The rate printed is
the one under the profiler (lower than without it). `--batch N`: each call is a
BatchCreateTasks of N tasks instead (the rate is then tasks per second).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from grpc import aio

from bench.common import bundled_server, host
from bench.front import timed
from bench.versus_extras import serving
from taskflow.redis_server import free_port
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc as pb_grpc

ROOT = Path(__file__).resolve().parent.parent
TOP = 30


async def creates(address: str, calls: int, in_flight: int, batch: int) -> float:
    async with aio.insecure_channel(address) as channel:
        stub = pb_grpc.SchedulerServiceStub(channel)
        request = pb.CreateTaskRequest(task_type="noop", content="x")
        await stub.CreateTask(request)
        if batch:
            many = pb.BatchCreateTasksRequest(tasks=[request] * batch)
            seconds = await timed(calls, in_flight, lambda: stub.BatchCreateTasks(many))
            return calls * batch / seconds
        seconds = await timed(calls, in_flight, lambda: stub.CreateTask(request))
        return calls / seconds


def table(profile: Path, sort: str, callers: str = "") -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(profile), stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(TOP)
    if callers:
        stats.print_callers(callers)
    return out.getvalue()


def serve_profiled(out: Path) -> None:
    """The scheduler as `taskflow scheduler` runs it, profiled once its modules are
    imported (imports would otherwise fill the table); the data lands in `out`."""
    from services.scheduler.app import serve
    from taskflow.service_process import run_service

    profiler = cProfile.Profile()
    profiler.runcall(run_service, "scheduler", serve)
    profiler.dump_stats(str(out))


def main(options: argparse.Namespace) -> None:
    if options.serve:
        serve_profiled(Path(options.serve))
        return
    print(host())
    with bundled_server() as server, tempfile.TemporaryDirectory() as tmp:
        address = f"127.0.0.1:{free_port()}"
        profile = Path(tmp) / "scheduler.prof"
        env = dict(os.environ, REDIS_URL=server.url, TASKFLOW_SCHEDULER_ADDRESS=address)
        command = [sys.executable, "-m", "bench.profile_create", "--serve", str(profile)]
        with (Path(tmp) / "scheduler.log").open("wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            asyncio.run(serving(address))
            rate = asyncio.run(creates(address, options.calls, options.in_flight, options.batch))
        finally:
            process.terminate()
            process.wait(60)
        what = f"BatchCreateTasks of {options.batch}" if options.batch else "CreateTask"
        print(
            f"{options.calls:,} {what}, {options.in_flight} in flight, under the "
            f"profiler: {rate:,.0f} tasks/s"
        )
        print(table(profile, options.sort, options.callers))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=1, help="calls in flight (1: sequential)")
    parser.add_argument("--batch", type=int, default=0, help="tasks per BatchCreateTasks call")
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    parser.add_argument("--serve", default="", help=argparse.SUPPRESS)
    parser.add_argument("--callers", default="", help="also who calls functions matching this")
    main(parser.parse_args())
