"""An open breaker sends nothing: calls that passed it while closed and then waited
for a rate-limit token are parked when it opened meanwhile, not sent."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from taskflow.store import NewTask, Task, TaskStore
from taskflow.store.breaker import BreakerState, CircuitBreakerStore
from tests.support.fake_openai import FakeOpenAI, Reply, provider_overrides
from tests.support.processes import service_env, start_service
from tests.support.waiting import eventually

# Two calls per 3 s: the first two go (and fail, opening the breaker), the other
# four slots wait for tokens that come back after it opened.
TASKS, REQUESTS, INTERVAL = 6, 2, 3.0


def parked(task: Task) -> bool:
    return any(record.reason for record in task.state_history)


@pytest.mark.slow
async def test_calls_waiting_for_a_token_when_the_breaker_opens_are_parked_unsent(
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
        CIRCUIT_FAILURE_THRESHOLD=REQUESTS,
        CIRCUIT_VOLUME_THRESHOLD=REQUESTS,
        CIRCUIT_TIMEOUT=300,  # no probe while the test runs
        OPENROUTER_RATE_LIMIT_REQUESTS=REQUESTS,
        OPENROUTER_RATE_LIMIT_INTERVAL=f"{INTERVAL:g}s",
        OPENROUTER_RATE_LIMIT_WAIT=60,
        WORKER_CONCURRENCY=TASKS,
        TASKFLOW_RETRY_DELAY_SCALE=1,  # parked and failed tasks stay scheduled
    )
    env = service_env(redis_url, **{k: str(v) for k, v in overrides.items()})
    created = await store.create_many(
        [NewTask("summarize", f"Text {i}.", max_retries=3) for i in range(TASKS)]
    )
    processes.append(start_service("executor", env, tmp_path / "executor.log"))

    async def tasks() -> list[Task]:
        return [await store.get(c.task_id) for c in created]

    async def all_held_back() -> bool:
        # Failed or parked: moved to SCHEDULED (a failed one's retry falls due within
        # seconds, then reads PENDING: due means PENDING; no scheduler promotes here).
        states = [await redis_client.hget(store.keys.task(c.task_id), "state") for c in created]
        return all(state == b"SCHEDULED" for state in states)

    await eventually(all_held_back, within=90, what="every task failed or parked")

    breaker = await CircuitBreakerStore(redis_client).state("openrouter")
    assert breaker.state is BreakerState.OPEN
    assert breaker.opened_at is not None
    opened = breaker.opened_at.timestamp()
    arrivals = [r.at for r in fake.received()]
    assert len(arrivals) == REQUESTS, "a call went out while the breaker was open"
    assert all(at <= opened for at in arrivals)

    final = await tasks()
    failed = [t for t in final if t.error_history]
    held = [t for t in final if parked(t)]
    assert len(failed) == REQUESTS
    assert len(held) == TASKS - REQUESTS
    for task in held:
        # No retry spent, no failure recorded; back when a probe may go.
        assert task.retry_count == 0
        assert task.error_history == []
        assert task.retry_after is not None
        assert task.retry_after > datetime.now(UTC)
        reason = next(r.reason for r in task.state_history if r.reason)
        assert "circuit breaker" in reason
    for process in processes:
        process.terminate()
        assert await asyncio.to_thread(process.wait, 60) == 0
