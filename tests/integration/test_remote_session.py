"""A remote worker's session (services/executor/remote_session.py) on a real Redis:
outcomes that arrive as its stream ends are recorded all the same."""

from __future__ import annotations

import asyncio

from services.executor.remote_session import Outcome, RemoteSession, SessionConfig
from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.store.remote import RemoteQueues


async def test_outcomes_that_arrive_as_the_stream_ends_are_recorded(store: TaskStore) -> None:
    """A stopping worker sends its last outcomes, then closes its stream: the session
    is stopped before its feed loop took them, and records them on its way out
    (else the tasks would wait for their leases to lapse and run again)."""
    await RemoteQueues(store).register(["thumbnail"], "images")
    for content in ("a", "b"):
        await store.create(NewTask("thumbnail", content, queue="images"))
    held = await RemoteQueues(store).claim("remote-1", ["images"], ["thumbnail"], 10)
    assert len(held) == 2
    config = SessionConfig("remote-1", "images", "executor-1", 5.0, 1.0, task_types=("thumbnail",))
    session = RemoteSession(store, config)
    session.submit([Outcome(t.task_id, t.lease_token, t.content.upper()) for t in held], 2)
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(session.run(stop), 30)
    for task in held:
        stored = await store.get(task.task_id)
        assert stored.state is TaskState.COMPLETED
        assert stored.result == task.content.upper()
