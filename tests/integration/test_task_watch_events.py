"""A task watch reacts to the events that concern it: a cancel asked of a running
task (task_cancel_requested, which a queue watch gets too) and a batch of its log
lines (which a queue watch does not)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskStore
from taskflow.store.event_stream import parse_id
from taskflow.store.task_logs import LogLine, TaskLogs
from taskflow.v1 import monitor_service_pb2 as pb
from tests.support.stack import monitor, settings_for


async def test_cancel_requests_and_log_batches_reach_the_task_watch(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    created = await store.create(NewTask("echo", "x"))
    (claim,) = await store.claim("w1", 1)
    async with monitor(settings_for(redis_url), redis_client) as api:
        watch: Any = api.stub.WatchTask(
            pb.WatchTaskRequest(task_id=created.task_id, with_logs=True)
        )
        queues: Any = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=1))
        first = await watch.read()
        assert not first.task.cancel_requested_at.seconds
        assert (await queues.read()).WhichOneof("event") == "initial_status"

        await store.cancel(created.task_id)
        async with asyncio.timeout(30):
            marked = await watch.read()
        assert marked.task.cancel_requested_at.seconds > 0
        # sent for the event itself, not for a later re-read of the task
        assert parse_id(marked.event_id) > parse_id(first.event_id)

        line = LogLine(datetime.now(UTC), "INFO", "handler", "still stopping")
        await TaskLogs(store).append(created.task_id, [line])
        async with asyncio.timeout(30):
            logged = await watch.read()
        assert [item.message for item in logged.log_lines] == ["still stopping"]

        await store.cancelled(claim)
        async with asyncio.timeout(30):
            kinds = []
            while "task_state_changed" not in kinds:
                kinds.append((await queues.read()).WhichOneof("event"))
        assert set(kinds) <= {"heartbeat", "task_cancel_requested", "task_state_changed"}
        assert "task_cancel_requested" in kinds  # the log batch is not a queue event
        watch.cancel()
        queues.cancel()
