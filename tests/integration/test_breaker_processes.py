"""The breaker across two executor processes: opens once, holds every call, one probe."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.store.breaker import BreakerState, CircuitBreakerStore
from tests.support.fake_openai import FakeOpenAI, Reply, provider_overrides
from tests.support.processes import service_env, start_service
from tests.support.stack import scheduler, settings_for
from tests.support.waiting import eventually

OPEN_SECONDS = 4.0
PROBE_SECONDS = 0.5
# Calls let through just before the breaker opened arrive within this of its opening.
LANDING_S = 1.5


@pytest.mark.slow
@pytest.mark.timeout(300)
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

        await eventually(opened, within=120, what="breaker open")
        # The provider recovers (a probe will find it answering, slowly).
        fake.answer(Reply(delay_s=PROBE_SECONDS))
        status = await breakers.state("openrouter")
        assert status.opened_at is not None
        opened_at = status.opened_at.timestamp()

        async def all_done() -> bool:
            return all([(await store.get(i)).state is TaskState.COMPLETED for i in ids])

        await eventually(all_done, within=120, what="every task completed")

    # Judged on the arrival times the fake recorded (the kernel's), not on when this
    # process got to look: calls let through just before the breaker opened land
    # within LANDING_S of it; after that nothing until the open timeout ends.
    arrivals = [r.at for r in fake.received()]
    sent_before_open = sum(1 for at in arrivals if at < opened_at + LANDING_S)
    # Workers with at most 4 calls in flight: the threshold, and nothing much more.
    assert 4 <= sent_before_open <= 8
    while_open = [at for at in arrivals if opened_at + LANDING_S <= at < opened_at + OPEN_SECONDS]
    assert while_open == [], "a call was sent while the breaker was open"

    # While open, tasks kept cycling (rescheduled): none was burned into the DLQ.
    tasks = [await store.get(i) for i in ids]
    assert not any(r.state == "DLQ" for t in tasks for r in t.state_history)

    # The first call after the open timeout is the one probe; the rest wait for it.
    after = sorted(at for at in arrivals if at >= opened_at + OPEN_SECONDS)
    probe, *rest = after
    assert rest, "only the probe was sent"
    assert min(rest) >= probe + PROBE_SECONDS - 0.05, "a second call went while probing"
    assert (await breakers.state("openrouter")).state is BreakerState.CLOSED
    for process in processes:
        process.terminate()
        assert await asyncio.to_thread(process.wait, 60) == 0
