"""The whole lifecycle over gRPC with real service processes, and the same no-op
work through Celery and RQ on the same Redis.

    uv run --frozen python -m bench.lifecycle [--tasks 20000] [--submit-tasks 8000]
        [--compare-tasks 10000] [--rounds 1] [--no-compare] [--no-profile]

Reports: submit tasks/s over gRPC (unary, sequential and 32 in flight; batches of
100 and 500); drain tasks/s of one executor process at concurrency 8/32/64 and of
two processes at the best of those, with the CPU each side spent per task;
create -> COMPLETED latency on an idle system; the drain rate of one Celery
worker process and of RQ workers (installed into build/bench-env, never into the
project); a py-spy profile of one executor process draining.
Drain rates are steady-state: from the first completion to the last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grpc import aio
from redis.asyncio import Redis

from bench import foreign, pyspy
from bench.common import Timer, bundled_server, machine, report
from taskflow.redis_server import free_port
from taskflow.store import NewTask, StoreConfig, TaskState, TaskStore
from taskflow.store.control import ExecutorControl
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCIES = (8, 32, 64)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@contextmanager
def service(name: str, redis_url: str, **env: str | int) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m services.<name>` as its own process (its own GIL), stopped by SIGTERM."""
    full_env = dict(os.environ, REDIS_URL=redis_url, LOG_LEVEL="WARNING")
    full_env.update({key: str(value) for key, value in env.items()})
    process = subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=full_env)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def server_cpu_s(client: Redis) -> float:
    info = await client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def submit(redis_url: str, client: Redis, n: int) -> None:
    address = f"127.0.0.1:{free_port()}"
    with service("scheduler", redis_url, TASKFLOW_SCHEDULER_ADDRESS=address):
        async with aio.insecure_channel(address) as channel:
            await channel.channel_ready()
            stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
            request = pb.CreateTaskRequest(task_type="noop", content="x")

            async def caller(count: int) -> None:
                for _ in range(count):
                    await stub.CreateTask(request)

            for in_flight, count in ((1, n // 4), (32, n // 32 * 32)):
                with Timer() as t:
                    await asyncio.gather(*(caller(count // in_flight) for _ in range(in_flight)))
                report(f"gRPC CreateTask, {in_flight} in flight", count, t.seconds)
            for size in (100, 500):
                batch = pb.BatchCreateTasksRequest(tasks=[request] * size)
                with Timer() as t:
                    for _ in range(n // size):
                        await stub.BatchCreateTasks(batch)
                report(f"gRPC BatchCreateTasks, batches of {size}", n // size * size, t.seconds)
    await client.flushall()


async def steady_drain(read_done: Callable[[], Awaitable[int]], n: int) -> float:
    """Seconds from the first completion to the n-th, polling a counter every 10 ms,
    scaled to n tasks (the tasks done by the first poll are left out of the rate)."""
    first = None
    deadline = time.perf_counter() + 600
    while time.perf_counter() < deadline:
        done = await read_done()
        now = time.perf_counter()
        if done and first is None:
            first = (now, done)
        if done >= n:
            assert first is not None
            return (now - first[0]) * n / max(n - first[1], 1)
        await asyncio.sleep(0.01)
    raise TimeoutError("drain did not finish within 600 s")


@dataclass
class Drain:
    seconds: float
    executor_cpu_s: float  # all executor processes, from resume to the last completion
    server_cpu_s: float  # valkey, same span
    script_us: float  # valkey's own time inside EVALSHA (INFO commandstats), same span


async def drain(
    redis_url: str, store: TaskStore, n: int, executors: int, concurrency: int,
    profile_to: Path | None = None,
) -> Drain:  # fmt: skip
    """N tasks queued behind the pause flag, then `executors` processes drain them."""
    client = store.client
    control = ExecutorControl(client, store.keys)
    await control.pause()
    for start in range(0, n, 1000):
        await store.create_many([NewTask("noop", "x")] * min(1000, n - start))

    async def completed() -> int:
        return (await store.status()).states[TaskState.COMPLETED]

    with contextlib.ExitStack() as stack:
        pids = [
            stack.enter_context(
                service("executor", redis_url, WORKER_CONCURRENCY=concurrency,
                        TASKFLOW_EXECUTOR_ADDRESS=f"127.0.0.1:{free_port()}")
            ).pid
            for _ in range(executors)
        ]  # fmt: skip
        await asyncio.sleep(2.0)  # processes started, workers idle behind the pause
        recording = None
        if profile_to:
            recording = pyspy.Recording(foreign.bench_env() / "py-spy", pids[0], profile_to)

        async def completed_then_record() -> int:
            """The profile starts with the first completion: no idle pause in it."""
            done = await completed()
            if done and recording and not recording.started:
                await recording.start()
            return done

        cpu_before = sum(map(process_cpu_s, pids))
        server_before = await server_cpu_s(client)
        await client.config_resetstat()
        await control.resume()
        seconds = await steady_drain(completed_then_record, n)
        cpu = sum(map(process_cpu_s, pids)) - cpu_before
        server = await server_cpu_s(client) - server_before
        stats = await client.info("commandstats")
        usec = sum(
            float(stats.get(f"cmdstat_{c}", {}).get("usec", 0)) for c in ("evalsha", "fcall")
        )
        if recording:
            await recording.stop()
    await client.flushall()
    return Drain(seconds, cpu, server, usec)


def report_drain(label: str, n: int, result: Drain) -> None:
    report(label, n, result.seconds)
    print(
        f"{'':<8}CPU per task: executor {result.executor_cpu_s / n * 1e6:.0f} µs, "
        f"valkey {result.server_cpu_s / n * 1e6:.0f} µs "
        f"(of which in scripts {result.script_us / n:.0f} µs)"
    )


async def latency(redis_url: str, client: Redis, samples: int) -> list[float]:
    """Create -> COMPLETED, one task at a time, seen on the queue-updates channel."""
    address = f"127.0.0.1:{free_port()}"
    store = TaskStore(client, StoreConfig())
    results: list[float] = []
    with (
        service("scheduler", redis_url, TASKFLOW_SCHEDULER_ADDRESS=address),
        service("executor", redis_url, TASKFLOW_EXECUTOR_ADDRESS=f"127.0.0.1:{free_port()}"),
    ):
        async with aio.insecure_channel(address) as channel:
            await channel.channel_ready()
            stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
            pubsub = client.pubsub()
            await pubsub.subscribe(store.keys.channel)
            await asyncio.sleep(1.5)
            request = pb.CreateTaskRequest(task_type="noop", content="x")
            for _ in range(samples):
                start = time.perf_counter()
                task_id = (await stub.CreateTask(request)).task_id
                while True:
                    # None also stands for a skipped subscribe confirmation.
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                    if message is None:
                        if time.perf_counter() - start > 5:
                            raise TimeoutError("no completion event within 5 s")
                        continue
                    event = json.loads(message["data"])
                    if event.get("task_id") == task_id and event.get("new_state") == "COMPLETED":
                        break
                results.append(time.perf_counter() - start)
            await pubsub.aclose()  # type: ignore[no-untyped-call]
    await client.flushall()
    return results


async def one_round(url: str, store: TaskStore, options: argparse.Namespace) -> None:
    n = options.tasks
    await submit(url, store.client, options.submit_tasks)
    rates = {}
    for concurrency in CONCURRENCIES:
        result = await drain(url, store, n, 1, concurrency)
        report_drain(f"drain: 1 executor process, concurrency {concurrency}", n, result)
        rates[concurrency] = n / result.seconds
    best = max(rates, key=rates.__getitem__)
    result = await drain(url, store, n, 2, best)
    report_drain(f"drain: 2 executor processes, concurrency {best}", n, result)
    samples = await latency(url, store.client, options.latency_samples)
    quantiles = statistics.quantiles(samples, n=100)
    print(
        f"{'create -> COMPLETED latency, idle':<48} p50 {quantiles[49] * 1000:.2f} ms"
        f"   p99 {quantiles[98] * 1000:.2f} ms   ({len(samples)} samples)"
    )
    if options.compare:
        results = await foreign.compare(url, store.client, options.compare_tasks, steady_drain)
        for label, count, seconds in results:
            report(f"drain: {label}", count, seconds)
        celery = results[0][1] / results[0][2]
        ratio = rates[best] / celery
        print(f"one executor process (best) / one Celery worker process (solo): {ratio:.1f}x")
    if options.profile:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "executor.txt"
            result = await drain(url, store, n, 1, best, profile_to=out)
            report(f"drain under py-spy: 1 process, concurrency {best}", n, result.seconds)
            print("\n".join(pyspy.summary(out)))


async def main(options: argparse.Namespace) -> None:
    print(f"{machine()}, {os.cpu_count()} cores; bundled valkey, appendfsync everysec")
    print(
        "services run as processes of their own (python -m services.<name>), the gRPC client here"
    )
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        store = TaskStore(client, StoreConfig())
        for index in range(options.rounds):
            print(f"--- round {index + 1} of {options.rounds}")
            await one_round(server.url, store, options)
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks per drain")
    parser.add_argument("--submit-tasks", type=int, default=8_000, help="tasks per submit row")
    parser.add_argument("--compare-tasks", type=int, default=10_000, help="per Celery/RQ run")
    parser.add_argument("--latency-samples", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=1, help="repeat everything this often")
    parser.add_argument("--compare", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True)
    asyncio.run(main(parser.parse_args()))
