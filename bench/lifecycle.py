"""The whole lifecycle over gRPC with real service processes, and the same no-op
work through Celery and RQ on the same Redis.

    uv run python -m bench.lifecycle [--tasks 20000] [--compare]

Reports: submit tasks/s over gRPC (unary, concurrent unary, batch); drain tasks/s
of one and two executor processes; create -> COMPLETED latency on an idle
system; with --compare, the drain rate of one Celery worker process and of RQ
workers (installed into build/bench-env, never into the project).
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
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from grpc import aio
from redis.asyncio import Redis

from bench.common import Timer, bundled_server, machine, report
from taskflow.redis_server import free_port
from taskflow.store import NewTask, StoreConfig, TaskState, TaskStore
from taskflow.store.control import ExecutorControl
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
BENCH_ENV = ROOT / "build" / "bench-env"
COMPARE = Path(__file__).resolve().parent / "compare"


@contextmanager
def service(name: str, redis_url: str, **env: str | int) -> Iterator[subprocess.Popen[bytes]]:
    full_env = dict(os.environ, REDIS_URL=redis_url, LOG_LEVEL="WARNING")
    full_env.update({key: str(value) for key, value in env.items()})
    process = subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=full_env)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)


async def submit(redis_url: str, store: TaskStore, n: int) -> None:
    address = f"127.0.0.1:{free_port()}"
    with service("scheduler", redis_url, TASKFLOW_SCHEDULER_ADDRESS=address):
        async with aio.insecure_channel(address) as channel:
            await channel.channel_ready()
            stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
            request = pb.CreateTaskRequest(task_type="noop", content="x")
            with Timer() as t:
                for _ in range(n // 4):
                    await stub.CreateTask(request)
            report("gRPC CreateTask, sequential", n // 4, t.seconds)

            async def caller(count: int) -> None:
                for _ in range(count):
                    await stub.CreateTask(request)

            with Timer() as t:
                await asyncio.gather(*(caller(n // 32) for _ in range(32)))
            report("gRPC CreateTask, 32 concurrent callers", n // 32 * 32, t.seconds)
            batch = pb.BatchCreateTasksRequest(tasks=[request] * 500)
            with Timer() as t:
                for _ in range(n // 500):
                    await stub.BatchCreateTasks(batch)
            report("gRPC BatchCreateTasks, batches of 500", n // 500 * 500, t.seconds)
    await store.client.flushall()


async def preload(store: TaskStore, n: int) -> None:
    for start in range(0, n, 1000):
        await store.create_many([NewTask("noop", "x")] * min(1000, n - start))


async def steady_drain(
    read_done: Callable[[], Awaitable[int]], n: int, timeout_s: float = 600
) -> float:
    """Seconds from the first completion to the n-th, polling a counter every 10 ms."""
    first = None
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        done = await read_done()
        now = time.perf_counter()
        if done and first is None:
            first = (now, done)
        if done >= n:
            assert first is not None
            return (now - first[0]) * n / max(n - first[1], 1)
        await asyncio.sleep(0.01)
    raise TimeoutError(f"drain did not finish within {timeout_s} s")


async def drain(
    redis_url: str, store: TaskStore, n: int, executors: int, concurrency: int
) -> float:
    control = ExecutorControl(store.client, store.keys)
    await control.pause()
    await preload(store, n)

    async def completed() -> int:
        return (await store.status()).states[TaskState.COMPLETED]

    with contextlib.ExitStack() as stack:
        for _ in range(executors):
            stack.enter_context(
                service(
                    "executor",
                    redis_url,
                    WORKER_CONCURRENCY=concurrency,
                    TASKFLOW_EXECUTOR_ADDRESS=f"127.0.0.1:{free_port()}",
                )
            )
        await asyncio.sleep(2.0)  # processes started, workers idle behind the pause
        await control.resume()
        seconds = await steady_drain(completed, n)
    await store.client.flushall()
    return seconds


async def latency(redis_url: str, store: TaskStore, samples: int) -> list[float]:
    """Create -> COMPLETED, one task at a time, seen on the queue-updates channel."""
    address = f"127.0.0.1:{free_port()}"
    results: list[float] = []
    with (
        service("scheduler", redis_url, TASKFLOW_SCHEDULER_ADDRESS=address),
        service("executor", redis_url, TASKFLOW_EXECUTOR_ADDRESS=f"127.0.0.1:{free_port()}"),
    ):
        async with aio.insecure_channel(address) as channel:
            await channel.channel_ready()
            stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
            pubsub = store.client.pubsub()
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
    await store.client.flushall()
    return results


def bench_env() -> Path:
    python = BENCH_ENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["uv", "venv", "--quiet", str(BENCH_ENV)], check=True)
        subprocess.run(
            ["uv", "pip", "install", "--quiet", "--python", str(python),
             "-r", str(COMPARE / "requirements.txt")],
            check=True,
        )  # fmt: skip
    return python


async def foreign_drain(
    store: TaskStore,
    n: int,
    submit_cmd: Sequence[str],
    worker_cmd: Sequence[str],
    env: dict[str, str],
) -> float:
    submitter = await asyncio.create_subprocess_exec(*submit_cmd, cwd=COMPARE, env=env)
    if await submitter.wait() != 0:
        raise RuntimeError(f"{submit_cmd} failed")

    async def done() -> int:
        return int(await store.client.get("bench:done") or 0)

    worker = await asyncio.create_subprocess_exec(
        *worker_cmd, cwd=COMPARE, env=env, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        return await steady_drain(done, n)
    finally:
        if worker.returncode is None:
            worker.terminate()
        await worker.wait()
        await store.client.flushall()


async def compare(redis_url: str, store: TaskStore, n: int) -> None:
    python = str(bench_env())
    env = dict(os.environ, BENCH_REDIS_URL=redis_url, PYTHONWARNINGS="ignore")
    bin_dir = str(BENCH_ENV / "bin")
    celery = [f"{bin_dir}/celery", "-A", "celery_app", "worker", "--loglevel=WARNING",
              "--without-heartbeat", "--without-gossip", "--without-mingle"]  # fmt: skip
    runs = [
        ("Celery, 1 worker process (--pool=solo)", n,
         [python, "celery_app.py", str(n)], [*celery, "--pool=solo"]),
        ("Celery, prefork -c 1", n,
         [python, "celery_app.py", str(n)], [*celery, "--pool=prefork", "-c", "1"]),
        ("RQ SimpleWorker (no fork), 1 process", n,
         [python, "rq_jobs.py", str(n)],
         [f"{bin_dir}/rq", "worker", "--burst", "-w", "rq.SimpleWorker", "-u", redis_url, "bench"]),
        ("RQ Worker (fork per job), 1 process", n // 20,
         [python, "rq_jobs.py", str(n // 20)],
         [f"{bin_dir}/rq", "worker", "--burst", "-u", redis_url, "bench"]),
    ]  # fmt: skip
    for name, count, submit_cmd, worker_cmd in runs:
        seconds = await foreign_drain(store, count, submit_cmd, worker_cmd, env)
        report(f"drain: {name}", count, seconds)


async def main(n: int, with_compare: bool) -> None:
    print(f"{machine()}; bundled valkey, appendfsync everysec; {n:,} tasks")
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        store = TaskStore(client, StoreConfig())
        await submit(server.url, store, n)
        for concurrency in (8, 32, 64):
            seconds = await drain(server.url, store, n, 1, concurrency)
            report(f"drain: 1 executor process, concurrency {concurrency}", n, seconds)
        seconds = await drain(server.url, store, n, 2, 32)
        report("drain: 2 executor processes, concurrency 32", n, seconds)
        samples = await latency(server.url, store, 300)
        quantiles = statistics.quantiles(samples, n=100)
        print(
            f"{'create -> COMPLETED latency, idle':<48} p50 {quantiles[49] * 1000:.2f} ms"
            f"   p99 {quantiles[98] * 1000:.2f} ms   ({len(samples)} samples)"
        )
        if with_compare:
            await compare(server.url, store, min(n, 10_000))
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--compare", action="store_true", help="also run Celery and RQ")
    options = parser.parse_args()
    asyncio.run(main(options.tasks, options.compare))
