"""Every gRPC service exports Prometheus metrics on its own port: the scheduler its
creates, promotions and recoveries, the executor its tasks by type and outcome, run
times, claim batches and the shared breaker, limiter and pause state, the monitor
its open watches. Scraped over real HTTP while real tasks flow."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx
from google.protobuf.struct_pb2 import Struct, Value
from redis.asyncio import Redis

from services.executor.metrics import RUN_TIME_BUCKETS, ExecutorMetrics
from services.executor.worker import Worker, WorkerConfig
from taskflow.metrics_http import exposed
from taskflow.redis_server import free_port
from taskflow.store import NewTask, StoreConfig, TaskState, TaskStore
from taskflow.tasks import load_task_modules
from taskflow.v1 import executor_service_pb2, monitor_service_pb2, scheduler_service_pb2
from tests.support.stack import executor, monitor, scheduler, settings_for
from tests.support.waiting import eventually, wait_for_state


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a scrape; 0 when it is not there (yet)."""
    series = name
    if labels:
        series += "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    for line in text.splitlines():
        if line.startswith(f"{series} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_each_service_exports_its_metrics(redis_url: str, redis_client: Redis) -> None:
    ports = {name: free_port() for name in ("scheduler", "executor", "monitor")}
    settings = settings_for(
        redis_url,
        TASKFLOW_SCHEDULER_METRICS_PORT=ports["scheduler"],
        TASKFLOW_EXECUTOR_METRICS_PORT=ports["executor"],
        TASKFLOW_MONITOR_METRICS_PORT=ports["monitor"],
    )
    # A task held by a worker that died: its lease expires and the scheduler recovers it.
    ghost = TaskStore(
        redis_client, StoreConfig.from_settings(settings.model_copy(update={"lease_seconds": 0.2}))
    )
    (lost,) = await ghost.create_many([NewTask("echo", "orphan")])
    assert await ghost.claim("ghost-worker", 1)

    async with (
        httpx.AsyncClient(timeout=10) as http,
        scheduler(settings, redis_client) as sched,
        monitor(settings, redis_client) as mon,
        executor(settings, redis_client, free_port()) as execu,
    ):

        async def scrape(service: str) -> str:
            return (await http.get(f"http://127.0.0.1:{ports[service]}/metrics")).text

        for content, kind in (("a", "echo"), ("b", "echo"), ("c", "doomed")):
            await sched.stub.CreateTask(
                scheduler_service_pb2.CreateTaskRequest(task_type=kind, content=content)
            )
        flaky = await sched.stub.CreateTask(
            scheduler_service_pb2.CreateTaskRequest(
                task_type="flaky", metadata=Struct(fields={"succeed_after": Value(number_value=1)})
            )
        )
        await wait_for_state(ghost, flaky.task_id, TaskState.COMPLETED, within=30)
        await wait_for_state(ghost, lost.task_id, TaskState.COMPLETED, within=30)
        await execu.OpenCircuitBreaker(executor_service_pb2.OpenCircuitBreakerRequest())
        await execu.PauseExecutor(executor_service_pb2.PauseExecutorRequest())
        watch = mon.stub.WatchQueues(monitor_service_pb2.WatchQueuesRequest())
        await watch.read()  # the first snapshot: the watch is open

        async def executor_sees_breaker_and_pause() -> bool:
            text = await scrape("executor")
            open_ = sample(text, "taskflow_executor_breaker_state", service="openrouter") == 2
            return open_ and sample(text, "taskflow_executor_paused") == 1

        await eventually(executor_sees_breaker_and_pause, within=30, what="breaker and pause")
        scheduler_text, executor_text = await scrape("scheduler"), await scrape("executor")
        monitor_open = await scrape("monitor")
        watch.cancel()

        async def watch_closed() -> bool:
            return sample(await scrape("monitor"), "taskflow_monitor_watchers") == 0

        await eventually(watch_closed, within=30, what="the watch to close")

    created = "taskflow_scheduler_tasks_created_total"
    assert sample(scheduler_text, created, task_type="echo") == 2
    assert sample(scheduler_text, created, task_type="doomed") == 1
    assert sample(scheduler_text, "taskflow_scheduler_retries_promoted_total") >= 1
    assert (
        sample(scheduler_text, "taskflow_scheduler_tasks_recovered_total", outcome="requeued") == 1
    )

    tasks = "taskflow_executor_tasks_total"
    assert sample(executor_text, tasks, task_type="echo", outcome="completed") == 3
    assert sample(executor_text, tasks, task_type="doomed", outcome="dlq") == 1
    assert sample(executor_text, tasks, task_type="flaky", outcome="scheduled") == 1
    assert sample(executor_text, tasks, task_type="flaky", outcome="completed") == 1
    run_time = "taskflow_executor_task_run_seconds_count"
    assert sample(executor_text, run_time, task_type="echo", outcome="completed") == 3
    assert sample(executor_text, "taskflow_executor_claim_batch_size_count") >= 1
    assert sample(executor_text, "taskflow_executor_claim_batch_size_sum") == 6
    assert "taskflow_executor_rate_limit_tokens" in executor_text
    assert sample(monitor_open, "taskflow_monitor_watchers") == 1
    assert sample(monitor_open, "taskflow_workers", health="healthy") == 1
    assert sample(monitor_open, "taskflow_workers", health="stale") == 0


async def test_a_taken_metrics_port_does_not_stop_the_service(
    redis_url: str, redis_client: Redis
) -> None:
    with contextlib.closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = settings_for(redis_url, TASKFLOW_SCHEDULER_METRICS_PORT=port)
        async with scheduler(settings, redis_client) as sched:
            reply = await sched.stub.CreateTask(
                scheduler_service_pb2.CreateTaskRequest(task_type="echo", content="still works")
            )
    assert len(reply.task_id) == 36


async def test_the_monitor_exports_how_long_a_queue_has_waited(
    redis_url: str, redis_client: Redis
) -> None:
    port = free_port()
    settings = settings_for(redis_url, TASKFLOW_MONITOR_METRICS_PORT=port)
    store = TaskStore(redis_client, StoreConfig.from_settings(settings))
    async with httpx.AsyncClient(timeout=10) as http, monitor(settings, redis_client):

        async def age(queue: str) -> float:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            return sample(text, "taskflow_queue_oldest_age_seconds", queue=queue)

        async def primary_waits() -> bool:
            return await age("primary") > 0.5

        assert await age("primary") == 0  # no executor, and nothing queued yet
        await store.create_many([NewTask("echo", "nobody runs me")])
        await eventually(primary_waits, within=30, what="the primary queue's age to grow")
        assert await age("retry") == 0


async def test_executor_metrics_count_every_task_run(store: TaskStore) -> None:
    # Each run is tallied by hand (services/executor/metrics.py TaskRuns, not a
    # prometheus Counter and Histogram): a scrape still shows every one of them.
    load_task_modules(["tests.support.tasks"])
    metrics = ExecutorMetrics()
    echoes = await store.create_many([NewTask("echo", str(i)) for i in range(300)])
    doomed = await store.create_many([NewTask("doomed") for _ in range(7)])
    worker = Worker(store, WorkerConfig(concurrency=32), metrics=metrics)
    with exposed(metrics.registry, "127.0.0.1", free_port(), "executor") as port:
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        for created, final in ((echoes, TaskState.COMPLETED), (doomed, TaskState.DLQ)):
            for task in created:
                await wait_for_state(store, task.task_id, final, within=60)
        stop.set()
        await running
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text

    tasks, run_time = "taskflow_executor_tasks_total", "taskflow_executor_task_run_seconds"
    for task_type, outcome, count in (("echo", "completed", 300), ("doomed", "dlq", 7)):
        labels = {"task_type": task_type, "outcome": outcome}
        assert sample(text, tasks, **labels) == count
        assert sample(text, f"{run_time}_count", **labels) == count
        assert sample(text, f"{run_time}_bucket", **labels, le="+Inf") == count
        buckets = [
            sample(text, f"{run_time}_bucket", **labels, le=repr(float(bound)))
            for bound in RUN_TIME_BUCKETS
        ]
        assert buckets == sorted(buckets)  # cumulative
        assert buckets[-1] == count  # no handler here runs 600 s
        assert 0 < sample(text, f"{run_time}_sum", **labels) < count * 600
        assert sample(text, f"{tasks.removesuffix('_total')}_created", **labels) > 0
