"""Masses of delayed tasks due at one instant, and the Redis clock passing it
(issue 15: due means PENDING, promotion of a mass)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore


async def create_due_at(store: TaskStore, count: int, lead_s: float) -> tuple[list[str], datetime]:
    """`count` echo tasks all due `lead_s` from now (in whole ms, as the store keeps
    it); their ids and that time. The lead must outlast creating them."""
    due = datetime.now(UTC) + timedelta(seconds=lead_s)
    due = due.replace(microsecond=due.microsecond // 1000 * 1000)
    ids: list[str] = []
    for start in range(0, count, 1000):
        stop = min(count, start + 1000)
        batch = [NewTask("echo", str(i), run_at=due) for i in range(start, stop)]
        ids += [c.task_id for c in await store.create_many(batch)]
    status = await store.status()
    assert status.states[TaskState.SCHEDULED] == count, "creating outlasted the lead: raise it"
    return ids, due


async def past(client: Redis, moment: datetime) -> bool:
    """Whether the Redis clock is past `moment` (by 2 ms: a due time is whole ms)."""
    seconds, micros = await client.time()
    return datetime.fromtimestamp(seconds + micros / 1e6, UTC) > moment + timedelta(milliseconds=2)
