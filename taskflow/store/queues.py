"""Named queues as a whole (docs/state-machine.md, Queues): which exist, pausing
one, and the depths of each list, read in one round trip per call."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from taskflow.store.due import ask_list_depths, list_depths, redis_now_ms
from taskflow.store.keys import DEFAULT_QUEUE, Keys
from taskflow.store.models import PRIORITIES
from taskflow.store.replies import text as _text
from taskflow.store.tasks import check_queue_name
from taskflow.store.workers import WorkerRegistry


@dataclass(frozen=True)
class NamedQueueDepths:
    """One queue's depths; `primary` sums its priority levels."""

    name: str
    primary_by_priority: dict[int, int]  # only levels that hold work
    retry: int
    waiting: dict[str, int]  # by task type: tasks no running claimer could run
    paused: bool
    workers: list[str] = field(default_factory=list)  # live workers consuming it

    @property
    def primary(self) -> int:
        return sum(self.primary_by_priority.values())


def queue_names_of(stats: dict[str, str]) -> list[str]:
    """The queues a worker record says it consumes (`queues`: ours; `queue`: remote)."""
    text = stats.get("queues") or stats.get("queue") or ""
    return [name for name in text.split(",") if name]


class QueueAdmin:
    def __init__(self, client: Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def names(self) -> list[str]:
        """`default` first, then every other queue a task or a pause named, sorted."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.smembers(self.keys.known_queues)
            pipe.smembers(self.keys.paused_queues)
            known, paused = await pipe.execute()
        others = {_text(n) for n in (*known, *paused)} - {DEFAULT_QUEUE}
        return [DEFAULT_QUEUE, *sorted(others)]

    async def pause(self, name: str) -> bool:
        """Claims skip `name` from now on; False when it was paused already."""
        check_queue_name(name)
        return bool(await self.client.sadd(self.keys.paused_queues, name))

    async def resume(self, name: str) -> bool:
        """Claims take from `name` again; False when it was not paused."""
        check_queue_name(name)
        return bool(await self.client.srem(self.keys.paused_queues, name))

    async def depths(self) -> list[NamedQueueDepths]:
        """Every queue's depths, including queues only a live worker consumes so far."""
        consumers = await self._consumers()
        names = await self.names()
        names += sorted(set(consumers) - set(names))
        now = await redis_now_ms(self.client)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.smembers(self.keys.paused_queues)
            for name in names:
                q = self.keys.queue_keys(name)
                ask_list_depths(pipe, q.pending_lists, now)
                pipe.smembers(q.waiting)
            paused_raw, *fetched = await pipe.execute()
        paused = {_text(n) for n in paused_raw}
        per = 2 * (len(PRIORITIES) + 1) + 1  # two replies per list, then the waiting types
        depths: dict[str, list[int]] = {}
        waiting_types: dict[str, list[str]] = {}
        for i, name in enumerate(names):
            replies = fetched[i * per : (i + 1) * per]
            depths[name] = list_depths(replies[:-1])
            waiting_types[name] = sorted(_text(t) for t in replies[-1])
        async with self.client.pipeline(transaction=False) as pipe:
            for name in names:
                for task_type in waiting_types[name]:
                    pipe.llen(self.keys.queue_keys(name).waiting_list(task_type))
            waiting_lengths = iter(await pipe.execute())
        out = []
        for name in names:
            *by_level, retry = depths[name]
            levels = {p: n for p, n in zip(PRIORITIES, by_level, strict=True) if n}
            waiting = {t: int(next(waiting_lengths)) for t in waiting_types[name]}
            out.append(
                NamedQueueDepths(
                    name=name,
                    primary_by_priority=levels,
                    retry=retry,
                    waiting={t: n for t, n in waiting.items() if n},
                    paused=name in paused,
                    workers=consumers.get(name, []),
                )
            )
        return out

    async def _consumers(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for record in await WorkerRegistry(self.client, self.keys).all():
            if record.alive:
                for name in queue_names_of(record.stats):
                    found.setdefault(name, []).append(record.worker_id)
        return found
