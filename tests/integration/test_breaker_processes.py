"""The breaker across two executor processes: opens once, holds every call, one probe."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.store.breaker import BreakerState, CircuitBreakerStore
from tests.support.fake_openai import FakeOpenAI, Reply, provider_overrides
from tests.support.processes import service_env, start_service
from tests.support.stack import scheduler, settings_for
from tests.support.waiting import eventually

OPEN_SECONDS = 2.0
PROBE_SECONDS = 0.5


@pytest.mark.slow
async def test_two_executors_share_one_breaker(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    fake: FakeOpenAI,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    fake.answer(Reply(status=500))
    overrides = provider_overrides(
        fake,
        CIRCUIT_FAILURE_THRESHOLD=4,
        CIRCUIT_VOLUME_THRESHOLD=4,
        CIRCUIT_TIMEOUT=OPEN_SECONDS,
        WORKER_CONCURRENCY=2,
    )
    env = service_env(redis_url, **{k: str(v) for k, v in overrides.items()})
    ids = [
        c.task_id
        for c in await store.create_many([NewTask("summarize", f"text {i}.") for i in range(12)])
    ]
    breakers = CircuitBreakerStore(redis_client)
    async with scheduler(settings_for(redis_url), redis_client):
        for name in ("first", "second"):
            processes.append(start_service("executor", env, tmp_path / f"{name}.log"))

        async def opened() -> bool:
            return (await breakers.state("openrouter")).state is BreakerState.OPEN

        await eventually(opened, within=20, what="breaker open")
        await asyncio.sleep(0.3)  # calls let through just before it opened land
        sent_before_open = len(fake.received())
        # Workers with at most 4 calls in flight: the threshold, and nothing much more.
        assert 4 <= sent_before_open <= 8

        # While open: tasks keep cycling (rescheduled), nothing reaches the provider,
        # nothing is burned into the DLQ.
        await asyncio.sleep(OPEN_SECONDS / 2)
        assert len(fake.received()) == sent_before_open
        states = [(await store.get(i)).state for i in ids]
        assert TaskState.DLQ not in states
        assert TaskState.COMPLETED not in states

        # The provider recovers; after the timeout exactly one probe goes, slowly.
        fake.answer(Reply(delay_s=PROBE_SECONDS))
        recovered_at = time.time()

        async def all_done() -> bool:
            return all([(await store.get(i)).state is TaskState.COMPLETED for i in ids])

        await eventually(all_done, within=30, what="every task completed")

    after = sorted(r.at for r in fake.received() if r.at >= recovered_at)
    probe, *rest = after
    assert rest, "only the probe was sent"
    assert min(rest) >= probe + PROBE_SECONDS - 0.05, "a second call went while probing"
    assert (await breakers.state("openrouter")).state is BreakerState.CLOSED
    for process in processes:
        process.terminate()
        assert await asyncio.to_thread(process.wait, 15) == 0
