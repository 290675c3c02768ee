"""Redis goes away while tasks run (a restart, a failover): the worker keeps their
outcomes and saves them once Redis is back, instead of dropping finished work and
leaving it to be run again after the lease expires. The outage is logged as one
warning line per attempt, not a traceback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from redis.asyncio import Redis

from services.executor.worker import Worker, WorkerConfig
from taskflow.redis_server import BundledRedis
from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.tasks import load_task_modules
from tests.support.waiting import eventually, wait_for_state

TASK_S = 1.0
OUTAGE_S = 2.5  # longer than the tasks take, shorter than their 30 s lease


@pytest.fixture(autouse=True)
def _task_types() -> None:
    load_task_modules(["tests.support.tasks"])


async def test_outcomes_finished_during_an_outage_are_saved_when_redis_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.executor.worker")
    runs = tmp_path / "runs.log"
    server = BundledRedis(tmp_path / "redis", appendfsync="always")
    await asyncio.to_thread(server.start)
    client = Redis.from_url(server.url)
    store = TaskStore(client)
    try:
        counted = await store.create_many(
            [NewTask("tally", str(TASK_S), metadata={"log": str(runs)}) for _ in range(3)]
        )
        doomed = await store.create(NewTask("doomed_later", str(TASK_S)))
        worker = Worker(store, WorkerConfig(concurrency=8, heartbeat_s=0.2))
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))

        async def all_claimed() -> bool:
            return worker.in_flight == 4

        await eventually(all_claimed, within=60, what="the four tasks running")
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(OUTAGE_S)
        await asyncio.to_thread(server.start)

        for created in counted:
            await wait_for_state(store, created.task_id, TaskState.COMPLETED, within=60)
        await wait_for_state(store, doomed.task_id, TaskState.DLQ, within=60)
        stop.set()
        await running
        # Each ran once: nothing was dropped and run again after its lease.
        assert sorted(line.split()[0] for line in runs.read_text().splitlines()) == sorted(
            c.task_id for c in counted
        )
        for created in counted:
            task = await store.get(created.task_id)
            assert (task.retry_count, task.error_history) == (0, [])
        status = await store.status()
        assert (status.states[TaskState.COMPLETED], status.states[TaskState.DLQ]) == (3, 1)
        assert status.states[TaskState.ACTIVE] == 0
    finally:
        await client.aclose()
        await asyncio.to_thread(server.stop)

    events = [r.getMessage() for r in caplog.records]
    assert any("event=result_save_retry" in e for e in events)
    assert any("event=failure_save_retry" in e for e in events)
    outage = [r for r in caplog.records if "_failed" in r.getMessage() or "retry" in r.msg]
    assert outage, "the outage went unnoticed"
    assert all(r.exc_info is None for r in outage), "an outage is a warning line, not a traceback"
