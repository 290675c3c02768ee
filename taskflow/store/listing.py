"""Task listings served from the index sorted sets, never by scanning `task:*`.

Every task sits in `tasks:index:all`, its state's, its type's and its
(state, type) index, all scored by creation time in microseconds: any mix of the state and
type filters maps to one sorted set, and a date range to a score range, so a page
costs O(log N + page size). ACTIVE tasks are the exception: the lease index holds
them (no state index is written for so short a stay), read whole and sorted here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from taskflow.errors import CorruptTask, InvalidInput
from taskflow.store.due import (
    as_read,
    ask_list_depths,
    list_depths,
    redis_now_ms,
    with_redis_now_ms,
)
from taskflow.store.keys import Keys, QueueKeys
from taskflow.store.models import PRIORITIES, QueueName, Task, TaskPage, TaskQuery, TaskState

MAX_PAGE_SIZE = 100
# An id-prefix search reads at most this many matches (ids are random UUIDs, so a
# prefix of a few characters already narrows to a handful).
MAX_PREFIX_MATCHES = 1000


def _us(moment: datetime | None, default: str) -> str:
    return default if moment is None else str(int(moment.timestamp() * 1_000_000))


def check_query(query: TaskQuery) -> None:
    if query.page < 1:
        raise InvalidInput("page must be >= 1")
    if not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if query.start and query.end and query.start > query.end:
        raise InvalidInput("start_date must not be after end_date")


class TaskLister:
    def __init__(self, client: Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def page(self, query: TaskQuery) -> TaskPage:
        check_query(query)
        offset = (query.page - 1) * query.page_size
        if query.task_id_prefix:
            return await self._by_id_prefix(query, offset)
        if query.queue:
            ids, total = await self._queue_page(query.queue, offset, query.page_size)
            return TaskPage(await self.load(ids), query.page, query.page_size, total)
        if query.state is TaskState.ACTIVE:
            ids = await self.active_ids(query.task_type, query.start, query.end)
            if query.descending:
                ids.reverse()
            page = ids[offset : offset + query.page_size]
            return TaskPage(await self.load(page), query.page, query.page_size, len(ids))
        index = self._index(query)
        low, high = _us(query.start, "-inf"), _us(query.end, "+inf")
        if query.state in DUE_SPLIT:
            ids, total = await self._due_split_page(
                query.state, query.task_type, (low, high), offset, query.page_size,
                descending=query.descending,
            )  # fmt: skip
            return TaskPage(await self.load(ids), query.page, query.page_size, total)
        total = await self.client.zcount(index, low, high)
        if query.descending:
            raw = await self.client.zrange(
                index, high, low, desc=True, byscore=True, offset=offset, num=query.page_size
            )
        else:
            raw = await self.client.zrange(
                index, low, high, byscore=True, offset=offset, num=query.page_size
            )
        return TaskPage(await self.load(_ids(raw)), query.page, query.page_size, total)

    def _index(self, query: TaskQuery) -> str:
        if query.state:
            return self._state_index(query.state, query.task_type)
        if query.task_type:
            return self.keys.index_type(query.task_type)
        return self.keys.index_all

    def _state_index(self, state: TaskState, task_type: str | None) -> str:
        """The creation-time index of `state`'s tasks (of `task_type`, if given)."""
        if task_type:
            return self.keys.index_state_type(state, task_type)
        return self.keys.index_state(state)

    async def _by_id_prefix(self, query: TaskQuery, offset: int) -> TaskPage:
        prefix = (query.task_id_prefix or "").lower()
        raw = await self.client.zrangebylex(
            self.keys.index_ids, f"[{prefix}", f"[{prefix}\xff", 0, MAX_PREFIX_MATCHES
        )
        tasks = [t for t in await self.load(_ids(raw)) if _matches(t, query)]
        tasks.sort(key=lambda t: t.created_at, reverse=query.descending)
        return TaskPage(
            tasks[offset : offset + query.page_size], query.page, query.page_size, len(tasks)
        )

    async def queue_ids(self, queue: QueueName, offset: int, limit: int | None) -> list[str]:
        """Ids in a queue from its head (the next out) on. As due means PENDING
        (taskflow/store/due.py): `primary` and `retry` also hold the due ids of their
        lists' scheduled parts, after each list's own ids (promotion pushes them
        behind); `scheduled` holds only the ids not yet due, soonest first."""
        ids, _ = await self._queue_page(queue, offset, limit)
        return ids

    async def _queue_page(
        self, queue: QueueName, offset: int, limit: int | None
    ) -> tuple[list[str], int]:
        """A page of `queue`'s ids from its head on, and how many it holds."""
        key = self.keys.queue(queue)
        if queue is QueueName.DLQ:
            return await self._list_ids(key, offset, limit), int(await self.client.llen(key))
        now = await redis_now_ms(self.client)
        if queue is QueueName.SCHEDULED:
            raw = await self.client.zrange(
                key, f"({now}", "+inf", byscore=True, offset=offset, num=_num(limit)
            )
            return _ids(raw), int(await self.client.zcount(key, f"({now}", "+inf"))
        # New work: the highest priority level first, as the claim takes it (the
        # share it gives lower levels aside).
        lists = self._pending_lists(queue)
        async with self.client.pipeline(transaction=False) as pipe:
            ask_list_depths(pipe, lists, now)
            counts = await pipe.execute()
        # Each list, then its due part: (list, is the due part, its length).
        parts = [(k, due, int(counts[2 * i + due])) for i, k in enumerate(lists) for due in (0, 1)]
        ids: list[str] = []
        for list_key, due, length in parts:
            if offset >= length:
                offset -= length
                continue
            wanted = None if limit is None else limit - len(ids)
            if due:
                ids += await self._due_part_ids(list_key, now, offset, wanted)
            else:
                ids += await self._list_ids(list_key, offset, wanted)
            offset = 0
            if limit is not None and len(ids) >= limit:
                break
        return ids, sum(list_depths(counts))

    async def oldest_pending(self, queue: QueueName) -> Task | None:
        """The PENDING task of `primary` or `retry` that has waited longest, as reads
        show it: the oldest end of each list (each level's, for `primary`) and the
        first due id of its scheduled part (due means PENDING) are its candidates."""
        lists = self._pending_lists(queue)
        async with self.client.pipeline(transaction=False) as pipe:
            for list_key in lists:
                pipe.lindex(list_key, -1)  # taken from the right: its oldest
                pipe.zrange(
                    QueueKeys.scheduled_part(list_key), "-inf", "+inf", byscore=True,
                    offset=0, num=1, withscores=True,
                )  # fmt: skip
            replies, now_ms = await with_redis_now_ms(self.client, pipe)
        ids = []
        for head, first_due in zip(replies[::2], replies[1::2], strict=True):
            if head is not None:
                ids.append(head)
            if first_due and first_due[0][1] <= now_ms:
                ids.append(first_due[0][0])
        tasks = [t for t in await self.load(_ids(ids)) if t.state is TaskState.PENDING]
        return min(tasks, key=pending_since, default=None)

    def _pending_lists(self, queue: QueueName) -> list[str]:
        if queue is QueueName.RETRY:
            return [self.keys.retry]
        return [self.keys.primary_level(level) for level in reversed(PRIORITIES)]

    async def _due_part_ids(
        self, list_key: str, now_ms: int, offset: int, limit: int | None
    ) -> list[str]:
        """The due ids of `list_key`'s scheduled part, soonest due first."""
        raw = await self.client.zrange(
            QueueKeys.scheduled_part(list_key), "-inf", now_ms, byscore=True,
            offset=offset, num=_num(limit),
        )  # fmt: skip
        return _ids(raw)

    async def _list_ids(self, key: str, offset: int, limit: int | None) -> list[str]:
        # Lists are pushed on the left and consumed on the right.
        start = -(offset + limit) if limit is not None else 0
        return _ids(reversed(await self.client.lrange(key, start, -(offset + 1))))

    async def ids_in_state(
        self,
        state: TaskState,
        before: datetime | None,
        count: int,
        *,
        task_type: str | None = None,
        offset: int = 0,
    ) -> list[str]:
        """`count` ids in `state` (and of `task_type`) created before `before`,
        oldest first from `offset`."""
        if state is TaskState.ACTIVE:
            ids = await self.active_ids(task_type, None, before, end_inclusive=False)
            return ids[offset : offset + count]
        high = "+inf" if before is None else f"({_us(before, '')}"
        if state in DUE_SPLIT:
            ids, _ = await self._due_split_page(state, task_type, ("-inf", high), offset, count)
            return ids
        index = self._state_index(state, task_type)
        raw = await self.client.zrange(index, "-inf", high, byscore=True, offset=offset, num=count)
        return _ids(raw)

    async def _due_split_page(
        self,
        state: TaskState,
        task_type: str | None,
        scores: tuple[str, str],
        offset: int,
        count: int,
        *,
        descending: bool = False,
    ) -> tuple[list[str], int]:
        """A page of PENDING or SCHEDULED ids by creation time, and their total, as
        due means PENDING (taskflow/store/due.py): the SCHEDULED index's due ids
        (those of tasks:scheduled due by the Redis clock, until promotion catches
        their hashes up) are listed as PENDING, not SCHEDULED. Costs O(due) more
        than a plain index page, and nothing when none is due."""
        low, high = scores
        index = self._state_index(state, task_type)
        due = await self._due_scheduled(task_type, low, high)
        total = int(await self.client.zcount(index, low, high))
        extra = len(due) if state is TaskState.SCHEDULED else 0
        start, stop = (high, low) if descending else (low, high)
        raw: list[Any] = await self.client.zrange(
            index, start, stop, desc=descending, byscore=True, offset=0,
            num=offset + count + extra, withscores=True,
        )  # fmt: skip
        rows = [(float(score), _ids([member])[0]) for member, score in raw]
        if state is TaskState.SCHEDULED:
            gone = {task_id for _, task_id in due}
            rows = [row for row in rows if row[1] not in gone]
            total -= len(due)
        else:
            rows = sorted([*rows, *due], reverse=descending)
            total += len(due)
        return [task_id for _, task_id in rows[offset : offset + count]], total

    async def _due_scheduled(
        self, task_type: str | None, low: str, high: str
    ) -> list[tuple[float, str]]:
        """Due SCHEDULED ids (of `task_type`, created within the index scores low..high)
        with their creation score, oldest first."""
        now = await redis_now_ms(self.client)
        ids = _ids(await self.client.zrange(self.keys.scheduled, "-inf", now, byscore=True))
        if not ids:
            return []
        index = self._state_index(TaskState.SCHEDULED, task_type)
        found = []
        for task_id, score in zip(ids, await self.client.zmscore(index, ids), strict=True):
            if score is not None and _within(float(score), low, high):
                found.append((float(score), task_id))
        return sorted(found)

    async def active_ids(
        self,
        task_type: str | None,
        start: datetime | None,
        end: datetime | None,
        *,
        end_inclusive: bool = True,
    ) -> list[str]:
        """ACTIVE ids (of `task_type`, created within start..end), oldest first, ties
        by id: the order of an index. ACTIVE has no index (lua/_prelude.lua): the
        lease index holds exactly the ACTIVE ids, at most the workers' concurrency."""
        ids = _ids(await self.client.zrange(self.keys.leases, 0, -1))
        async with self.client.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hmget(self.keys.task(task_id), "created_us", "task_type", "state")
            rows = await pipe.execute()
        low = -math.inf if start is None else int(start.timestamp() * 1_000_000)
        high = math.inf if end is None else int(end.timestamp() * 1_000_000)
        found = []
        for task_id, row in zip(ids, rows, strict=True):
            created, kind, state = _ids(v or b"" for v in row)
            if state != TaskState.ACTIVE.value or not created or task_type not in (None, kind):
                continue
            created_us = int(created)
            if low <= created_us and (created_us <= high if end_inclusive else created_us < high):
                found.append((created_us, task_id))
        return [task_id for _, task_id in sorted(found)]

    async def load(self, ids: Sequence[str]) -> list[Task]:
        """Tasks for `ids`, in order; ids deleted meanwhile are left out."""
        if not ids:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hgetall(self.keys.task(task_id))
            rows, now_ms = await with_redis_now_ms(self.client, pipe)
        tasks = []
        for row in rows:
            if row:
                try:
                    raw = {k.decode(): v.decode() for k, v in row.items()}
                    tasks.append(Task.from_hash(as_read(raw, now_ms)))
                except CorruptTask:
                    continue  # one unreadable task must not break a whole listing
        return tasks


def pending_since(task: Task) -> datetime:
    """When a PENDING `task` entered PENDING: its history's last entry (for a due
    SCHEDULED hash, the stamp due means PENDING shows), else its updated_at."""
    history = task.state_history
    if history and history[-1].state == TaskState.PENDING.value:
        return datetime.fromisoformat(history[-1].timestamp)
    return task.updated_at


def _matches(task: Task, query: TaskQuery) -> bool:
    return (
        (query.state is None or task.state is query.state)
        and (query.task_type is None or task.task_type == query.task_type)
        and (query.start is None or task.created_at >= query.start)
        and (query.end is None or task.created_at <= query.end)
    )


# States whose listings the due part of SCHEDULED moves between (due means PENDING).
DUE_SPLIT = (TaskState.PENDING, TaskState.SCHEDULED)


def _within(score: float, low: str, high: str) -> bool:
    """Whether `score` lies in a ZRANGE BYSCORE range (`(` marks an open bound)."""
    above = score > float(low[1:]) if low.startswith("(") else score >= float(low)
    below = score < float(high[1:]) if high.startswith("(") else score <= float(high)
    return above and below


def _num(limit: int | None) -> int:
    """A ZRANGE LIMIT count: -1 for no limit."""
    return -1 if limit is None else limit


def _ids(raw: Iterable[Any]) -> list[str]:
    return [i.decode() if isinstance(i, bytes) else str(i) for i in raw]
