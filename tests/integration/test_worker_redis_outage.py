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


@pytest.fixture(autouse=True)
def _task_types() -> None:
    load_task_modules(["tests.support.tasks"])


async def test_outcomes_finished_during_an_outage_are_saved_when_redis_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.executor.worker")
    runs = tmp_path / "runs.log"
    # The tasks end when this file appears, which the test makes only once Redis is
    # down, so every outcome meets the outage whatever the machine's load.
    gate = tmp_path / "gate"
    held = {"log": str(runs), "gate": str(gate)}
    server = BundledRedis(tmp_path / "redis", appendfsync="always")
    await asyncio.to_thread(server.start)
    client = Redis.from_url(server.url)
    store = TaskStore(client)
    try:
        counted = await store.create_many([NewTask("tally", "", metadata=held) for _ in range(3)])
        doomed = await store.create(NewTask("doomed_later", "", metadata=held))
        worker = Worker(store, WorkerConfig(concurrency=8, heartbeat_s=0.2))
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))

        async def all_claimed() -> bool:
            return worker.in_flight == 4

        await eventually(all_claimed, within=60, what="the four tasks running")
        await asyncio.to_thread(server.stop)
        gate.touch()

        async def both_outcomes_waiting() -> bool:
            logged = " ".join(r.getMessage() for r in caplog.records)
            return "event=result_save_retry" in logged and "event=failure_save_retry" in logged

        # Redis stays down until the worker has met the outage with both kinds of outcome
        # (well inside the tasks' 30 s lease).
        await eventually(both_outcomes_waiting, within=60, what="the outcomes held for Redis")
        await asyncio.to_thread(server.start)

        # The test reads through a client of its own from here: the pooled connections
        # of the worker's client died with the server, and that client's first command
        # on one fails (the worker's retries absorb it; a test read must not).
        reader = Redis.from_url(server.url)
        readers = TaskStore(reader)
        for created in counted:
            await wait_for_state(readers, created.task_id, TaskState.COMPLETED, within=60)
        await wait_for_state(readers, doomed.task_id, TaskState.DLQ, within=60)
        stop.set()
        await running
        # Each ran once: nothing was dropped and run again after its lease.
        assert sorted(line.split()[0] for line in runs.read_text().splitlines()) == sorted(
            c.task_id for c in counted
        )
        for created in counted:
            task = await readers.get(created.task_id)
            assert (task.retry_count, task.error_history) == (0, [])
        status = await readers.status()
        assert (status.states[TaskState.COMPLETED], status.states[TaskState.DLQ]) == (3, 1)
        assert status.states[TaskState.ACTIVE] == 0
        await reader.aclose()
    finally:
        await client.aclose()
        await asyncio.to_thread(server.stop)

    events = [r.getMessage() for r in caplog.records]
    assert any("event=result_save_retry" in e for e in events)
    assert any("event=failure_save_retry" in e for e in events)
    outage = [r for r in caplog.records if "_failed" in r.getMessage() or "retry" in r.msg]
    assert outage, "the outage went unnoticed"
    assert all(r.exc_info is None for r in outage), "an outage is a warning line, not a traceback"
