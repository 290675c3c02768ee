"""CPU per sequential unary create, per process: the client, the scheduler, valkey
(issue 19, the sequential create target).

    uv run --frozen python -m bench.create_cpu [--rounds 2] [--calls 3000] [--batches 40]
        [--against REF]

One bundled valkey (appendonly, everysec) and a scheduler process (`python -m
services.scheduler`, default settings); with `--against REF`, rounds alternate
between a scheduler of REF's tree (bench.transition_cost.archived) and one of this
checkout, on the same valkey. This process is the client, sending CreateTask one
call after another through a grpc.aio stub and through a sync grpc stub (rounds
alternate the order), then BatchCreateTasks of 500 through each, one after another,
and (sync stub) two at a time from two threads; and (aio stub) CreateTask with 32 in
flight on one channel. Printed per kind: calls/s (wall time, moved 2-4x by the
machine's load) and CPU (user + system, /proc/<pid>/stat) per call of each process
and their sum, which the load hardly moves. With the three processes taking turns
for every call, the sum of CPU per call bounds the sequential rate on a quiet
machine: 1,300/s needs it under ~770 µs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import redis
from grpc import aio

from bench.common import bundled_server, host
from bench.front import timed
from bench.lifecycle import process_cpu_s
from bench.transition_cost import HERE, archived
from bench.versus_extras import serving
from taskflow.redis_server import free_port
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc as pb_grpc

WARM_UP = 300
# Batches in flight at once in the last measurement of a sync round (threads).
LANES = 2
# Unary creates in flight at once on one aio channel (the concurrent case, as bench.front).
IN_FLIGHT = 32
BATCH = 500
REQUEST = pb.CreateTaskRequest(task_type="noop", content="x")


class Cpu:
    """CPU seconds of the named processes from construction to `per_call`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {name: process_cpu_s(pid) for name, pid in pids.items()}
        self.wall = time.perf_counter()

    def line(self, label: str, calls: int, tasks: int) -> str:
        seconds = time.perf_counter() - self.wall
        used = {name: process_cpu_s(pid) - self.start[name] for name, pid in self.pids.items()}
        parts = "  ".join(f"{name} {s / tasks * 1e6:5.0f}" for name, s in used.items())
        total = sum(used.values()) / tasks * 1e6
        return (
            f"  {label:<26} {tasks / seconds:>8,.0f} tasks/s   µs per task: {parts}"
            f"  sum {total:5.0f}   ({calls:,} calls)"
        )


def sync_round(address: str, pids: dict[str, int], calls: int, batches: int) -> list[str]:
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.SchedulerServiceStub(channel)
        return _round("sync", stub.CreateTask, stub.BatchCreateTasks, pids, calls, batches)


async def aio_round(address: str, pids: dict[str, int], calls: int, batches: int) -> list[str]:
    async with aio.insecure_channel(address) as channel:
        stub = pb_grpc.SchedulerServiceStub(channel)
        for _ in range(WARM_UP):
            await stub.CreateTask(REQUEST)
        cpu = Cpu(pids)
        for _ in range(calls):
            await stub.CreateTask(REQUEST)
        lines = [cpu.line("aio, CreateTask", calls, calls)]
        cpu = Cpu(pids)
        await timed(calls, IN_FLIGHT, lambda: stub.CreateTask(REQUEST))
        lines.append(cpu.line(f"aio, CreateTask {IN_FLIGHT} in flight", calls, calls))
        batch = pb.BatchCreateTasksRequest(tasks=[REQUEST] * BATCH)
        cpu = Cpu(pids)
        for _ in range(batches):
            await stub.BatchCreateTasks(batch)
        lines.append(cpu.line(f"aio, BatchCreateTasks {BATCH}", batches, batches * BATCH))
        return lines


def _round(
    kind: str,
    create: Callable[[pb.CreateTaskRequest], object],
    batch_create: Callable[[pb.BatchCreateTasksRequest], object],
    pids: dict[str, int],
    calls: int,
    batches: int,
) -> list[str]:
    for _ in range(WARM_UP):
        create(REQUEST)
    cpu = Cpu(pids)
    for _ in range(calls):
        create(REQUEST)
    lines = [cpu.line(f"{kind}, CreateTask", calls, calls)]
    batch = pb.BatchCreateTasksRequest(tasks=[REQUEST] * BATCH)
    cpu = Cpu(pids)
    for _ in range(batches):
        batch_create(batch)
    lines.append(cpu.line(f"{kind}, BatchCreateTasks {BATCH}", batches, batches * BATCH))
    cpu = Cpu(pids)
    with ThreadPoolExecutor(LANES) as lanes:  # each lane's batches one after another
        list(lanes.map(lambda _: batch_create(batch), range(batches)))
    label = f"{kind}, BatchCreateTasks {BATCH} x{LANES}"
    lines.append(cpu.line(label, batches, batches * BATCH))
    return lines


@contextlib.contextmanager
def scheduler_of(tree: Path, url: str, address: str, log: Path) -> Iterator[int]:
    """`python -m services.scheduler` from `tree`'s code, at default settings."""
    env = dict(os.environ, REDIS_URL=url, TASKFLOW_SCHEDULER_ADDRESS=address, LOG_LEVEL="WARNING")
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.scheduler"],
            cwd=tree,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process.pid
    finally:
        process.terminate()
        process.wait(60)


async def measure(tree: Path, url: str, valkey_pid: int, options: argparse.Namespace) -> None:
    address = f"127.0.0.1:{free_port()}"
    with scheduler_of(tree, url, address, Path(options.logs) / "scheduler.log") as pid:
        await serving(address)
        pids = {"client": os.getpid(), "scheduler": pid, "valkey": valkey_pid}
        for kind in ("aio", "sync") if options.round % 2 else ("sync", "aio"):
            if kind == "aio":
                lines = await aio_round(address, pids, options.calls, options.batches)
            else:
                lines = sync_round(address, pids, options.calls, options.batches)
            print("\n".join(lines), flush=True)


async def main(options: argparse.Namespace) -> None:
    print(host())
    with (
        bundled_server() as valkey,
        tempfile.TemporaryDirectory() as tmp,
    ):
        options.logs = tmp
        valkey_pid = int(redis.Redis.from_url(valkey.url).info("server")["process_id"])
        trees = [("this checkout", HERE)]
        if options.against:
            trees.insert(0, (options.against, archived(options.against, Path(tmp))))
        for round_no in range(1, options.rounds + 1):
            options.round = round_no
            for label, tree in trees if round_no % 2 else trees[::-1]:
                print(f"round {round_no}, {label}, load {os.getloadavg()[0]:.2f}", flush=True)
                await measure(tree, valkey.url, valkey_pid, options)
    print(f"load average after the run {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--against", metavar="REF", help="also a scheduler of git ref REF's tree")
    asyncio.run(main(parser.parse_args()))
