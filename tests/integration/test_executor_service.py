"""ExecutorService: status of this executor's workers; pause and resume claiming."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from taskflow.provider import PROVIDER_SERVICE
from taskflow.redis_server import free_port
from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.store.breaker import CircuitBreakerStore
from taskflow.store.control import ExecutorControl
from taskflow.store.rate_limit import RateLimiter
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import executor_service_pb2 as pb
from tests.support.stack import executor, settings_for
from tests.support.waiting import eventually, until_every_worker_paused, wait_for_state


async def test_pause_holds_new_work_and_resume_releases_it(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    settings = settings_for(redis_url, TASKFLOW_EXECUTOR_ID="exec-a", WORKER_CONCURRENCY=3)
    async with executor(settings, redis_client, free_port()) as stub:

        async def worker_listed() -> bool:
            return bool((await stub.GetExecutorStatus(pb.GetExecutorStatusRequest())).workers)

        # Serving comes before the worker's first heartbeat, which a loaded machine delays.
        await eventually(worker_listed, what="the executor's worker listed")
        status = await stub.GetExecutorStatus(pb.GetExecutorStatusRequest())
        assert status.executor_id == "exec-a"
        assert not status.paused
        assert [w.concurrency for w in status.workers] == [3]

        assert (await stub.PauseExecutor(pb.PauseExecutorRequest())).paused
        await until_every_worker_paused(redis_client)
        held = (await store.create(NewTask("echo", "wait"))).task_id
        await asyncio.sleep(1.0)  # a paused worker leaves it alone, however long
        assert (await store.get(held)).state is TaskState.PENDING
        assert (await stub.GetExecutorStatus(pb.GetExecutorStatusRequest())).paused

        assert not (await stub.ResumeExecutor(pb.ResumeExecutorRequest())).paused
        await wait_for_state(store, held, TaskState.COMPLETED)
        status = await stub.GetExecutorStatus(pb.GetExecutorStatusRequest())
        assert status.workers[0].completed == 1


async def test_breaker_open_and_reset_apply_cluster_wide(
    redis_url: str, redis_client: Redis
) -> None:
    settings = settings_for(redis_url)
    breakers = CircuitBreakerStore(redis_client)
    async with executor(settings, redis_client, free_port()) as stub:
        opened = await stub.OpenCircuitBreaker(pb.OpenCircuitBreakerRequest())
        assert opened.successful_opens == 1
        (result,) = opened.results
        assert (result.service, result.state) == (PROVIDER_SERVICE, enums.CIRCUIT_STATE_OPEN)
        assert not (await breakers.acquire(PROVIDER_SERVICE)).allowed

        reset = await stub.ResetCircuitBreaker(pb.ResetCircuitBreakerRequest())
        assert reset.successful_resets == 1
        assert reset.results[0].previous_state == enums.CIRCUIT_STATE_OPEN
        assert reset.results[0].state == enums.CIRCUIT_STATE_CLOSED
        assert reset.HasField("timestamp")
        assert (await breakers.acquire(PROVIDER_SERVICE)).allowed


async def test_rate_limit_status_reports_the_shared_bucket(
    redis_url: str, redis_client: Redis
) -> None:
    await RateLimiter(redis_client).configure(230, "10s")
    async with executor(settings_for(redis_url), redis_client, free_port()) as stub:
        status = await stub.GetRateLimitStatus(pb.GetRateLimitStatusRequest())
    assert status.enabled
    assert (status.capacity, status.interval) == (230, "10s")
    assert status.refill_rate == 23.0
    assert status.tokens == 230


async def test_an_executor_started_while_paused_claims_nothing(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    # The pause is the cluster's: an executor that starts while it is on must read it
    # before its first claim, not half a second later at its first poll.
    await ExecutorControl(redis_client, store.keys).pause()
    waiting = (await store.create(NewTask("echo", "not yet"))).task_id
    settings = settings_for(redis_url, TASKFLOW_EXECUTOR_ID="exec-late", WORKER_CONCURRENCY=3)
    async with executor(settings, redis_client, free_port()) as stub:
        await until_every_worker_paused(redis_client)
        assert (await store.get(waiting)).state is TaskState.PENDING
        status = await stub.GetExecutorStatus(pb.GetExecutorStatusRequest())
        assert [w.completed for w in status.workers] == [0]

        assert not (await stub.ResumeExecutor(pb.ResumeExecutorRequest())).paused
        await wait_for_state(store, waiting, TaskState.COMPLETED)
