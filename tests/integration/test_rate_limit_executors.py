"""Four executor processes share one rate limit: 20 provider calls per 2 s, no more, no less.

The fake provider records when each request arrives, and the limit is checked
there, over whole intervals. The executors work through summarize tasks with a
token wait that not every caller can meet, so some tasks are rescheduled (and
promoted back by an in-process scheduler) instead of failing.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from pathlib import Path

import pytest
from grpc import aio
from redis.asyncio import Redis

from taskflow.redis_server import free_port
from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.store.rate_limit import RateLimiter
from tests.support.fake_openai import FakeOpenAI, Reply, provider_overrides
from tests.support.processes import service_env, start_service
from tests.support.waiting import eventually, wait_for_state

EXECUTORS, SLOTS, REQUESTS, INTERVAL = 4, 8, 20, 2.0
# 160 tasks take eight intervals; through the first seven more tasks are waiting
# than there are tokens, so that stretch should use (nearly) the whole allowance.
TASKS, SATURATED_S = 160, 7 * INTERVAL
# 32 slots wait for 20 tokens an interval: those that lose a round find the next
# token further away than this and give up, and their task is rescheduled (a
# RateLimitError that costs no retry).
TOKEN_WAIT_S = 2.5
# Generous for a loaded machine (the work itself takes ~17 s); the counts below are
# what the test checks, not the time.
DONE_WITHIN_S = 180.0
# The content of the warm-up tasks, which the fake answers slowly.
WARM_UP = "Warm up."


@pytest.mark.slow
@pytest.mark.timeout(420)
async def test_four_executors_keep_to_the_shared_limit_and_use_it(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    fake: FakeOpenAI,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    overrides = provider_overrides(
        fake,
        OPENROUTER_RATE_LIMIT_REQUESTS=REQUESTS,
        OPENROUTER_RATE_LIMIT_INTERVAL=f"{INTERVAL:g}s",
        OPENROUTER_RATE_LIMIT_WAIT=TOKEN_WAIT_S,
        WORKER_CONCURRENCY=SLOTS,
        TASKFLOW_RETRY_DELAY_SCALE=0.01,
        LOG_LEVEL="WARNING",
        OPENROUTER_TIMEOUT=150,  # the warm-up calls are held until every slot has one
    )
    envs = [
        service_env(redis_url, **{k: str(v) for k, v in overrides.items()})
        for _ in range(EXECUTORS)
    ]
    # The scheduler (it promotes the rescheduled tasks back) is a process of its own
    # too: run in this process, its threads would compete for the GIL with the fake
    # provider, whose arrival times are the measure.
    scheduler_env = service_env(
        redis_url, TASKFLOW_SCHEDULER_ADDRESS=f"127.0.0.1:{free_port()}", LOG_LEVEL="WARNING"
    )
    processes.append(start_service("scheduler", scheduler_env, tmp_path / "scheduler.log"))
    await serving(scheduler_env["TASKFLOW_SCHEDULER_ADDRESS"])
    executors = [
        start_service("executor", env, tmp_path / f"executor-{number}.log")
        for number, env in enumerate(envs)
    ]
    processes.extend(executors)
    for env in envs:
        await serving(env["TASKFLOW_EXECUTOR_ADDRESS"])
    await warm_up(store, RateLimiter(redis_client), fake, {p.pid for p in executors})

    measured_from = time.time()
    done_when = (await store.status()).states[TaskState.COMPLETED] + TASKS
    created = await store.create_many(
        [NewTask("summarize", f"Text number {i}. It has two sentences.") for i in range(TASKS)]
    )

    deadline = time.monotonic() + DONE_WITHIN_S
    # Polled slowly: the fake serves from this process, and a busy loop here would
    # delay the arrival times it records.
    while (states := (await store.status()).states)[TaskState.COMPLETED] < done_when:
        assert states[TaskState.DLQ] == 0
        assert time.monotonic() < deadline, f"not every task completed in {DONE_WITHIN_S} s"
        await asyncio.sleep(0.25)

    arrivals = sorted(r.at for r in fake.received() if r.at >= measured_from)
    assert len(arrivals) == TASKS  # a call without a token is never sent
    # Counted where the promise is made: at the provider, over whole intervals.
    busiest = max(sum(1 for t in arrivals if start <= t < start + INTERVAL) for start in arrivals)
    assert busiest <= REQUESTS
    used = sum(1 for t in arrivals if t < arrivals[0] + SATURATED_S)
    allowance = REQUESTS * SATURATED_S / INTERVAL
    assert used >= 0.9 * allowance, f"{used} calls in {SATURATED_S:g} s, {allowance:g} allowed"

    tasks = [await store.get(c.task_id) for c in created]
    assert all(t.state is TaskState.COMPLETED for t in tasks)
    rescheduled = [
        t for t in tasks if any(e.error_type == "RateLimitError" for e in t.error_history)
    ]
    assert rescheduled, "no caller ever gave up waiting for a token"
    assert all(t.retry_count == 0 for t in tasks)  # waiting for a token costs no retry
    for process in processes:
        process.terminate()
        assert await asyncio.to_thread(process.wait, 60) == 0


async def serving(address: str) -> None:
    """Wait until a service process answers on its gRPC address."""
    async with aio.insecure_channel(address) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout=90)


async def warm_up(store: TaskStore, limiter: RateLimiter, fake: FakeOpenAI, pids: set[int]) -> None:
    """With the limit lifted, give every slot of every executor one slow call.

    A process's first calls are slow (lazy imports, new connections): measured,
    they would arrive late, bunched up with the next interval's. The fake holds
    every warm-up call until all of them have arrived, so each slot holds one
    warm-up task and no executor can take a second, however slowly the others start.
    """
    await limiter.configure(10 * EXECUTORS * SLOTS, f"{INTERVAL:g}s")
    release = threading.Event()
    fake.answer_when(WARM_UP, Reply(release=release))
    slots = EXECUTORS * SLOTS
    created = await store.create_many([NewTask("summarize", WARM_UP)] * slots)

    async def all_arrived() -> bool:
        return len(fake.received()) >= slots

    try:
        await eventually(all_arrived, within=120, what="a warm-up call from every slot")
    finally:
        release.set()
    for task in created:
        await wait_for_state(store, task.task_id, TaskState.COMPLETED, within=60)
    workers = [(await store.get(task.task_id)).worker_id for task in created]
    assert {int(w.split("-")[-2]) for w in workers} == pids  # worker ids: <host>-<pid>-<hex>
    # Back to the real limit. The bucket is spent (the warm-up calls count until they
    # leave the window), so the measure starts as a busy cluster runs: every slot
    # already waiting when tokens come back, not 32 tasks starting cold at once.
    await limiter.configure(REQUESTS, f"{INTERVAL:g}s")
