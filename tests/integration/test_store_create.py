"""What the create script stores (lua/create.lua, lua/_create_task.lua): a batch's
tasks travel as one JSON argument plus their payloads, and each comes back exactly
as it was given; the hash holds only the fields that have a value."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore

TEXTS = [
    "",
    'quotes " and \\ backslashes \\" and /slashes/',
    "new\nlines\ttabs\r and a NUL \x00 byte",
    "unicode: é ß 中文 😀 \u2028 \ufeff",
    "x" * 200_000,
]


async def test_a_batch_comes_back_exactly_as_given(store: TaskStore) -> None:
    due = datetime.now(UTC) + timedelta(hours=1)
    given = [
        NewTask("echo", text, metadata={"k": text[:50], "n": i, "nested": {"ok": [1, None]}})
        for i, text in enumerate(TEXTS)
    ]
    given += [
        NewTask("echo", "with payload", payload=b"\x00\xff%PDF binary \r\n" * 100),
        NewTask("echo", "no payload between two"),
        NewTask("echo", "another payload", payload=b"second"),
        NewTask("echo", "later", run_at=due, priority=7, max_retries=0, retention_s=60),
        NewTask("echo", "named", queue="far", idempotency_key="key-1"),
    ]
    created = await store.create_many(given)
    assert [c.created for c in created] == [True] * len(given)
    ids = [uuid.UUID(c.task_id) for c in created]
    assert len(set(ids)) == len(given)
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    for new, made in zip(given, created, strict=True):
        task = await store.get(made.task_id)
        assert task.task_type == new.task_type
        assert task.content == new.content
        assert task.metadata == dict(new.metadata)
        assert task.priority == new.priority
        assert task.max_retries == new.max_retries
        assert task.retention_s == new.retention_s
        assert task.idempotency_key == new.idempotency_key
        assert task.queue_name == (new.queue or "default")
        assert task.has_payload == bool(new.payload)
        assert task.payload_size == len(new.payload)
        assert await store.payload(made.task_id) == new.payload
        if new.run_at is None:
            assert made.state is TaskState.PENDING
            assert task.run_at is None
        else:
            assert made.state is TaskState.SCHEDULED
            assert task.run_at is not None
            assert abs(task.run_at - new.run_at) < timedelta(milliseconds=1)
    again = await store.create(NewTask("echo", "other", idempotency_key="key-1"))
    assert (again.task_id, again.created) == (created[-1].task_id, False)


async def test_a_new_task_stores_no_empty_fields(store: TaskStore, redis_client: Redis) -> None:
    made = await store.create(NewTask("echo", "plain"))
    raw = await redis_client.hgetall(store.keys.task(made.task_id))
    assert all(value != b"" for value in raw.values()), raw
    task = await store.get(made.task_id)
    assert (task.started_at, task.completed_at) == (None, None)
    assert (task.result, task.last_error) == ("", "")
    assert (task.worker_id, task.error_history, task.has_payload) == ("", [], False)


async def test_a_batch_is_claimed_in_creation_order_within_each_priority(store: TaskStore) -> None:
    priorities = [0, 5, 0, 5, 9, 0, 5, 0]
    created = await store.create_many(
        [NewTask("echo", f"t{i}", priority=p) for i, p in enumerate(priorities)]
    )
    index = {c.task_id: i for i, c in enumerate(created)}
    taken = [claim.task_id for _ in priorities for claim in await store.claim("w", 1)]
    assert sorted(taken) == sorted(index)
    for level in set(priorities):
        order = [index[t] for t in taken if priorities[index[t]] == level]
        assert order == sorted(order), f"priority {level} not FIFO"
