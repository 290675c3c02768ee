"""The rest of bench/versus.py, after the drains: idle latency, unary and batched
create, and RSS of each service idle; ours against BullMQ, each on its own valkey."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from pathlib import Path

import grpc
import httpx
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio import Redis

from bench import bullmq_side
from bench.ours_side import rss_mb, service
from taskflow.redis_server import free_port
from taskflow.v1 import (
    enums_pb2,
    monitor_service_pb2,
    monitor_service_pb2_grpc,
    scheduler_service_pb2_grpc,
)
from taskflow.v1 import scheduler_service_pb2 as pb

LATENCY_SAMPLES = 300
UNARY = 2_000
BATCHED = 20_000
BATCH = 500
STARTUP_S = 60.0
IDLE_S = 5.0  # after every service answers, before RSS is read


async def serving(address: str) -> None:
    """Until the gRPC server on `address` reports SERVING (standard health)."""
    deadline = time.monotonic() + STARTUP_S
    async with aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            with contextlib.suppress(aio.AioRpcError):
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{address} not serving within {STARTUP_S:g} s")
            await asyncio.sleep(0.1)


def quantiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:6.2f} ms   p99 {cuts[98] * 1000:6.2f} ms   ({len(samples)})"


def rate(label: str, count: int, seconds: float) -> None:
    print(f"  {label:<44} {count / seconds:>8,.0f}/s   ({count:,} in {seconds:.2f} s)")


async def ours_latency(scheduler: str, monitor: str) -> list[float]:
    """CreateTask, then WatchTask until the task shows COMPLETED (its first message is
    a snapshot, so a task done before the watch opened still ends the wait)."""
    samples = []
    async with aio.insecure_channel(scheduler) as ch1, aio.insecure_channel(monitor) as ch2:
        create = scheduler_service_pb2_grpc.SchedulerServiceStub(ch1).CreateTask
        watch = monitor_service_pb2_grpc.MonitorServiceStub(ch2).WatchTask
        request = pb.CreateTaskRequest(task_type="noop", content="x")
        for _ in range(LATENCY_SAMPLES):
            start = time.perf_counter()
            task_id = (await create(request)).task_id
            stream = watch(monitor_service_pb2.WatchTaskRequest(task_id=task_id))
            async for message in stream:
                if message.task.state == enums_pb2.TASK_STATE_COMPLETED:
                    break
            stream.cancel()
            samples.append(time.perf_counter() - start)
    return samples


async def ours_creates(scheduler: str) -> None:
    async with aio.insecure_channel(scheduler) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        request = pb.CreateTaskRequest(task_type="noop", content="x")
        start = time.perf_counter()
        for _ in range(UNARY):
            await stub.CreateTask(request)
        rate("ours, CreateTask sequential, 1 client", UNARY, time.perf_counter() - start)
        seconds = await asyncio.to_thread(sync_creates, scheduler, request)
        rate("ours, CreateTask sequential, 1 sync client", UNARY, seconds)
        batch = pb.BatchCreateTasksRequest(tasks=[request] * BATCH)
        start = time.perf_counter()
        for _ in range(BATCHED // BATCH):
            await stub.BatchCreateTasks(batch)
        rate(f"ours, BatchCreateTasks of {BATCH}", BATCHED, time.perf_counter() - start)


def sync_creates(scheduler: str, request: pb.CreateTaskRequest) -> float:
    """UNARY creates one after another through a blocking stub (TaskflowSyncClient's
    kind of channel), the aio client's figure beside it; seconds taken."""
    with grpc.insecure_channel(scheduler) as channel:
        create = scheduler_service_pb2_grpc.SchedulerServiceStub(channel).CreateTask
        start = time.perf_counter()
        for _ in range(UNARY):
            create(request)
        return time.perf_counter() - start


async def ours_side(client: Redis, url: str, log_dir: Path) -> None:
    addresses = {name: f"127.0.0.1:{free_port()}" for name in ("scheduler", "executor", "monitor")}
    env = {f"TASKFLOW_{name.upper()}_ADDRESS": value for name, value in addresses.items()}
    gateway_port = free_port()
    with contextlib.ExitStack() as stack:
        processes = {
            name: stack.enter_context(service(name, url, log_dir, **env))
            for name in ("scheduler", "executor", "monitor")
        }
        processes["gateway"] = stack.enter_context(
            service("gateway", url, log_dir, **env, TASKFLOW_GATEWAY_PORT=str(gateway_port))
        )
        for address in addresses.values():
            await serving(address)
        await gateway_answering(f"http://127.0.0.1:{gateway_port}/health")
        await asyncio.sleep(IDLE_S)
        rss = {name: rss_mb(process.pid) for name, process in processes.items()}
        print(
            "  ours, RSS idle: "
            + ", ".join(f"{name} {mb:.0f} MB" for name, mb in rss.items())
            + f"; the four {sum(rss.values()):.0f} MB"
        )
        print(
            f"  ours, create -> completed (WatchTask), idle: "
            f"{quantiles(await ours_latency(addresses['scheduler'], addresses['monitor']))}"
        )
        await client.flushall()
    with service("scheduler", url, log_dir, **env):
        await serving(addresses["scheduler"])
        await ours_creates(addresses["scheduler"])
    await client.flushall()


async def gateway_answering(health_url: str) -> None:
    deadline = time.monotonic() + STARTUP_S
    async with httpx.AsyncClient() as http:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(health_url, timeout=2)).status_code < 500:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{health_url} not answering within {STARTUP_S:g} s")
            await asyncio.sleep(0.1)


async def bullmq_side_extras(client: Redis, url: str) -> None:
    async with bullmq_side.worker(url) as worker:
        await worker.start()
        await asyncio.sleep(IDLE_S)
        print(f"  BullMQ, RSS idle: worker {rss_mb(worker.pid):.0f} MB")
        samples = (await bullmq_side.run(url, "latency", LATENCY_SAMPLES))["samples"]
        print(f"  BullMQ, add -> QueueEvents 'completed', idle: {quantiles(samples)}")
    await client.flushall()
    unary = await bullmq_side.run(url, "add", UNARY)
    rate("BullMQ, Queue.add sequential, 1 client", unary["count"], unary["seconds"])
    bulk = await bullmq_side.run(url, "addbulk", BATCHED, BATCH)
    rate(f"BullMQ, addBulk of {BATCH}", bulk["count"], bulk["seconds"])
    await client.flushall()


async def run_all(servers: dict[str, tuple[Redis, str]], log_dir: Path) -> None:
    print("idle latency, create rates, RSS:", flush=True)
    await ours_side(*servers["ours"], log_dir)
    await bullmq_side_extras(*servers["bullmq"])
