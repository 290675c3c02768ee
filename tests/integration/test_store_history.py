"""state_history as stored (taskflow/store/history.py): the JSON list written at
creation, then a compact log a transition adds to. Readers see one list, exactly as
when every transition rewrote the JSON list, and hashes written that way read the
same and keep growing correctly."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskStore


def text(value: bytes | str | None) -> str:
    assert isinstance(value, bytes)
    return value.decode()


async def test_each_move_is_in_the_history_at_the_instant_its_state_was_entered(
    store: TaskStore, redis_client: Redis
) -> None:
    created = await store.create(NewTask("noop", "x"))
    (claim,) = await store.claim("w-history", 1)
    await store.complete(claim, "done")

    task = await store.get(created.task_id)
    key = store.keys.task(created.task_id)
    stamps = await redis_client.hmget(key, ["created_at", "started_at", "completed_at"])
    assert [(r.state, r.timestamp) for r in task.state_history] == [
        ("PENDING", text(stamps[0])),
        ("ACTIVE", text(stamps[1])),
        ("COMPLETED", text(stamps[2])),
    ]
    # The transitions did not re-send the list: it still holds the creation alone.
    assert len(json.loads(text(await redis_client.hget(key, "state_history")))) == 1


async def test_a_hash_written_before_the_log_reads_the_same_and_keeps_growing(
    store: TaskStore, redis_client: Redis
) -> None:
    created = await store.create(NewTask("noop", "x"))
    (claim,) = await store.claim("w-history", 1)
    key = store.keys.task(created.task_id)
    before = (await store.get(created.task_id)).state_history
    # The same task as the scripts stored it when every move rewrote the JSON list.
    old_list = json.dumps([{"state": r.state, "timestamp": r.timestamp} for r in before])
    await redis_client.hset(key, "state_history", old_list)
    await redis_client.hdel(key, "state_log")
    assert (await store.get(created.task_id)).state_history == before

    await store.complete(claim, "done")
    after = (await store.get(created.task_id)).state_history
    assert after[:2] == before
    assert (after[2].state, after[2].timestamp) == (
        "COMPLETED",
        text(await redis_client.hget(key, "completed_at")),
    )


async def test_an_entry_with_a_reason_folds_the_log_into_the_json_list(
    store: TaskStore, redis_client: Redis
) -> None:
    created = await store.create(NewTask("noop", "x"))
    (claim,) = await store.claim("w-history", 1)
    await store.park(claim, 0, "breaker open")
    key = store.keys.task(created.task_id)
    history = (await store.get(created.task_id)).state_history
    # Parked for no time: due at once, so read PENDING as of then (due means PENDING)
    # before promotion writes that entry.
    assert [(r.state, r.reason) for r in history] == [
        ("PENDING", ""),
        ("ACTIVE", ""),
        ("SCHEDULED", "breaker open"),
        ("PENDING", ""),
    ]
    # A reader of the raw hash finds the whole stored history in the JSON list again.
    raw = json.loads(text(await redis_client.hget(key, "state_history")))
    stored = history[:3]
    assert [(e["state"], e["timestamp"]) for e in raw] == [(r.state, r.timestamp) for r in stored]
    assert await redis_client.hget(key, "state_log") == b""

    await store.promote_due()
    (again,) = await store.claim("w-history", 1)
    await store.complete(again, "done")
    states = [r.state for r in (await store.get(created.task_id)).state_history]
    assert states == ["PENDING", "ACTIVE", "SCHEDULED", "PENDING", "ACTIVE", "COMPLETED"]


async def test_a_retry_keeps_its_moves_in_order_through_promotion(store: TaskStore) -> None:
    created = await store.create(NewTask("noop", "x"))
    (claim,) = await store.claim("w-history", 1)
    await store.fail(claim, "boom", "Default", permanent=False, retry_delay_s=0)
    assert (await store.promote_due())[0] == 1
    (again,) = await store.claim("w-history", 1)
    await store.complete(again, "done")
    task = await store.get(created.task_id)
    states = [r.state for r in task.state_history]
    assert states == ["PENDING", "ACTIVE", "SCHEDULED", "PENDING", "ACTIVE", "COMPLETED"]
    stamps = [r.timestamp for r in task.state_history]
    assert stamps == sorted(stamps)
    assert task.completed_at is not None
    assert stamps[-1] == task.completed_at.isoformat(timespec="microseconds")
