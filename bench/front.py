"""Creating and watching, ours against BullMQ in the same run (issue 19): unary and
batched create from one client process, create -> completion seen by a watching
client on an idle system, and RSS idle and after a drain.

    uv run --frozen python -m bench.front [--rounds 3] [--all-in-one]

Each system on its own bundled valkey (appendonly yes, appendfsync everysec),
rounds interleaved (the system that goes first alternates). Ours: the four services
as `taskflow <service>` processes at default settings (or, with --all-in-one, the
one process of `taskflow all-in-one`), driven over gRPC with plain grpc.aio stubs
from this process. BullMQ: bench/bullmq/bench.mjs, one Node process per command.

Per round, ours: latency (CreateTask, then WatchTask until COMPLETED), then with the
executors paused CreateTask sequential, CreateTask with IN_FLIGHT calls in flight on
one channel, BatchCreateTasks of BATCH; then the executor drains what was created
and RSS is read. BullMQ: add -> QueueEvents 'completed' with a Worker running, then
without one Queue.add sequential, Queue.add with IN_FLIGHT in flight, addBulk of BATCH.
Each create rate also shows the CPU per task (/proc/<pid>/stat, user + system) of
valkey, and for ours of the scheduler (the all-in-one process with --all-in-one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import timestamp_pb2
from grpc import aio
from redis.asyncio import Redis

from bench import bullmq_side
from bench.common import bundled_server, host
from bench.lifecycle import process_cpu_s, steady_drain
from bench.ours_side import Queue, rss_mb, server_pid, service
from bench.versus_extras import IDLE_S, gateway_answering, quantiles, serving
from taskflow.redis_server import free_port
from taskflow.v1 import enums_pb2, monitor_service_pb2, monitor_service_pb2_grpc
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc as pb_grpc

LATENCY_SAMPLES = 300
UNARY = 2_000
IN_FLIGHT = 32
BATCHED = 20_000
BATCH = 500
SERVICES = ("scheduler", "executor", "monitor")


@dataclass
class Results:
    rates: dict[str, list[float]] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    rss: dict[str, list[str]] = field(default_factory=dict)

    def rate(self, label: str, count: int, seconds: float, cpu: str = "") -> None:
        self.rates.setdefault(label, []).append(count / seconds)
        print(
            f"  {label:<46} {count / seconds:>8,.0f}/s   ({count:,} in {seconds:.2f} s)"
            f"{'   ' + cpu if cpu else ''}",
            flush=True,
        )

    def latency(self, label: str, samples: list[float]) -> None:
        self.latencies.setdefault(label, []).extend(samples)
        print(f"  {label:<46} {quantiles(samples)}", flush=True)

    def memory(self, label: str, pids: dict[str, int]) -> None:
        rss = {name: rss_mb(pid) for name, pid in pids.items()}
        text = ", ".join(f"{name} {mb:.0f} MB" for name, mb in rss.items())
        if len(rss) > 1:
            text += f"; together {sum(rss.values()):.0f} MB"
        self.rss.setdefault(label, []).append(text)
        print(f"  {label:<46} {text}", flush=True)


@dataclass(frozen=True)
class Ours:
    scheduler: str
    monitor: str
    pids: dict[str, int]


@contextlib.asynccontextmanager
async def ours_running(url: str, log_dir: Path, all_in_one: bool) -> AsyncIterator[Ours]:
    addresses = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
    env = {f"TASKFLOW_{name.upper()}_ADDRESS": value for name, value in addresses.items()}
    gateway_port = free_port()
    env["TASKFLOW_GATEWAY_PORT"] = str(gateway_port)
    names = ("all-in-one",) if all_in_one else (*SERVICES, "gateway")
    with contextlib.ExitStack() as stack:
        pids = {name: stack.enter_context(service(name, url, log_dir, **env)).pid for name in names}
        for address in addresses.values():
            await serving(address)
        await gateway_answering(f"http://127.0.0.1:{gateway_port}/health")
        yield Ours(addresses["scheduler"], addresses["monitor"], pids)


@dataclass
class Legs:
    """Where one create -> completion sample's milliseconds went, from the client's
    clock and the task's own timestamps (the same machine's clock)."""

    create_call: float  # CreateTask sent -> reply
    snapshot: float  # reply -> the WatchTask's first message (its snapshot)
    waiting: float  # created -> started: the idle executor's wake-up and claim
    running: float  # started -> completed: the no-op and its completion write
    seen: float  # completed -> the WatchTask message in the client's hands

    NAMES = ("create_call", "snapshot", "waiting", "running", "seen")


def _ms(stamp: timestamp_pb2.Timestamp) -> float:
    return stamp.ToMicroseconds() / 1000


async def ours_latency(ours: Ours, samples: int) -> tuple[list[float], list[Legs]]:
    """CreateTask, then WatchTask until the task shows COMPLETED (its first message is
    a snapshot, so a task done before the watch opened still ends the wait)."""
    seconds, legs = [], []
    async with (
        aio.insecure_channel(ours.scheduler) as ch1,
        aio.insecure_channel(ours.monitor) as ch2,
    ):
        create = pb_grpc.SchedulerServiceStub(ch1).CreateTask
        watch = monitor_service_pb2_grpc.MonitorServiceStub(ch2).WatchTask
        request = pb.CreateTaskRequest(task_type="noop", content="x")
        for _ in range(samples):
            sent_ms, start = time.time() * 1000, time.perf_counter()
            task_id = (await create(request)).task_id
            replied_ms = time.time() * 1000
            stream = watch(monitor_service_pb2.WatchTaskRequest(task_id=task_id))
            first_ms = 0.0
            async for message in stream:
                first_ms = first_ms or time.time() * 1000
                if message.task.state == enums_pb2.TASK_STATE_COMPLETED:
                    break
            stream.cancel()
            seconds.append(time.perf_counter() - start)
            task = message.task
            legs.append(
                Legs(
                    replied_ms - sent_ms,
                    first_ms - replied_ms,
                    _ms(task.started_at) - _ms(task.created_at),
                    _ms(task.completed_at) - _ms(task.started_at),
                    time.time() * 1000 - _ms(task.completed_at),
                )
            )
    return seconds, legs


def legs_line(legs: list[Legs]) -> str:
    lines = []
    for label, cut in (("medians", 50), ("p99", 99)):
        values = {
            name: statistics.quantiles([getattr(leg, name) for leg in legs], n=100)[cut - 1]
            for name in Legs.NAMES
        }
        lines.append(f"{label}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in values.items()))
    return "\n    ".join(lines)


class Cpu:
    """CPU (user + system) the given processes use from now on, per task."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {name: process_cpu_s(pid) for name, pid in pids.items()}

    def per_task(self, tasks: int) -> str:
        used = {name: process_cpu_s(pid) - self.start[name] for name, pid in self.pids.items()}
        return ", ".join(f"{name} {s / tasks * 1e6:.0f} µs/task" for name, s in used.items())


async def timed(calls: int, in_flight: int, call: Callable[[], Awaitable[object]]) -> float:
    remaining = calls

    async def caller() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(in_flight)))
    return time.perf_counter() - start


async def ours_round(client: Redis, ours: Ours, results: Results, samples: int) -> None:
    waits, legs = await ours_latency(ours, samples)
    results.latency("ours, CreateTask -> WatchTask COMPLETED", waits)
    print(f"    {legs_line(legs)}", flush=True)
    queue = Queue(client)
    await queue.control.pause()
    async with aio.insecure_channel(ours.scheduler) as channel:
        stub = pb_grpc.SchedulerServiceStub(channel)
        request = pb.CreateTaskRequest(task_type="noop", content="x")
        pids = {"scheduler": ours.pids.get("scheduler", ours.pids.get("all-in-one", 0))}
        pids["valkey"] = await server_pid(client)
        cpu = Cpu(pids)
        seconds = await timed(UNARY, 1, lambda: stub.CreateTask(request))
        results.rate("ours, CreateTask sequential", UNARY, seconds, cpu.per_task(UNARY))
        cpu = Cpu(pids)
        seconds = await timed(UNARY * 2, IN_FLIGHT, lambda: stub.CreateTask(request))
        results.rate(
            f"ours, CreateTask {IN_FLIGHT} in flight", UNARY * 2, seconds, cpu.per_task(UNARY * 2)
        )
        batch = pb.BatchCreateTasksRequest(tasks=[request] * BATCH)
        cpu = Cpu(pids)
        seconds = await timed(BATCHED // BATCH, 1, lambda: stub.BatchCreateTasks(batch))
        results.rate(f"ours, BatchCreateTasks of {BATCH}", BATCHED, seconds, cpu.per_task(BATCHED))
    created = samples + UNARY * 3 + BATCHED
    await queue.resume()
    await steady_drain(queue.completed, created)
    results.memory("ours, RSS after draining them", ours.pids)
    await client.flushall()


async def bullmq_round(client: Redis, url: str, results: Results, samples: int) -> None:
    async with bullmq_side.worker(url) as worker:
        await worker.start()
        reply = await bullmq_side.run(url, "latency", samples)
        results.latency("BullMQ, add -> QueueEvents 'completed'", reply["samples"])
        results.memory("BullMQ, RSS of the worker", {"worker": worker.pid})
    await client.flushall()
    valkey = {"valkey": await server_pid(client)}
    for label, args in (
        ("BullMQ, Queue.add sequential", ("add", UNARY)),
        (f"BullMQ, Queue.add {IN_FLIGHT} in flight", ("add", UNARY * 2, IN_FLIGHT)),
        (f"BullMQ, addBulk of {BATCH}", ("addbulk", BATCHED, BATCH)),
    ):
        cpu = Cpu(valkey)
        reply = await bullmq_side.run(url, *args)
        results.rate(label, reply["count"], reply["seconds"], cpu.per_task(reply["count"]))
    await client.flushall()


def summary(results: Results) -> None:
    print("medians over the rounds (latency: every sample of every round):")
    for label, rates in results.rates.items():
        print(f"  {label:<46} {statistics.median(rates):>8,.0f}/s")
    for label, samples in results.latencies.items():
        print(f"  {label:<46} {quantiles(samples)}")


async def main(options: argparse.Namespace) -> None:
    bullmq_side.install()
    print(host())
    mode = "taskflow all-in-one" if options.all_in_one else "four service processes"
    print(f"ours: {mode}, default settings; {options.rounds} interleaved round(s)", flush=True)
    results = Results()
    with (
        bundled_server() as ours_server,
        bundled_server() as bull_server,
        tempfile.TemporaryDirectory(prefix="bench-front-") as tmp,
    ):
        ours_client = Redis.from_url(ours_server.url)
        bull_client = Redis.from_url(bull_server.url)
        try:
            async with ours_running(ours_server.url, Path(tmp), options.all_in_one) as ours:
                await asyncio.sleep(IDLE_S)
                results.memory("ours, RSS idle", ours.pids)
                for index in range(options.rounds):
                    print(f"round {index + 1} of {options.rounds}", flush=True)
                    sides: list[Callable[[], Awaitable[None]]] = [
                        lambda: ours_round(ours_client, ours, results, options.samples),
                        lambda: bullmq_round(
                            bull_client, bull_server.url, results, options.samples
                        ),
                    ]
                    for side in sides if index % 2 == 0 else sides[::-1]:
                        await side()
        finally:
            await ours_client.aclose()
            await bull_client.aclose()
    summary(results)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average after the run {load}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=LATENCY_SAMPLES, help="latency samples")
    parser.add_argument(
        "--all-in-one", action="store_true", help="ours as the one process of `taskflow all-in-one`"
    )
    asyncio.run(main(parser.parse_args()))
