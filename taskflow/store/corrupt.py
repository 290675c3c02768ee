"""The ids a claim set aside because their stored task could not be read
(`tasks:corrupt`, lua/_claim.lua): how many, what is left of each, dropping them.

A claim pushes such an id on the left, so the list reads newest first. Dropping
forgets ids only; what is left of their hashes stays for an operator to inspect,
then to delete (DeleteTask: lua/_remove_malformed.lua).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from taskflow.errors import InvalidInput
from taskflow.store.keys import Keys

# Longest value of a hash field shown (a task's content can be megabytes).
FIELD_MAX = 1000
# Most ids one listing or one drop names.
MAX_IDS = 1000
# Longest id a drop accepts (ids there may be anything a list held, not UUIDs).
ID_MAX = 200


@dataclass(frozen=True)
class CorruptEntry:
    """One set-aside id and what is left of its hash (empty: it has none)."""

    task_id: str
    fields: dict[str, str]


def _shown(raw: bytes) -> str:
    text = raw.decode(errors="replace")
    return text if len(text) <= FIELD_MAX else text[:FIELD_MAX] + "…"


class CorruptTasks:
    def __init__(self, client: Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def count(self) -> int:
        """How many ids are set aside now (one LLEN)."""
        return int(await self.client.llen(self.keys.corrupt))

    async def entries(self, limit: int) -> tuple[list[CorruptEntry], int]:
        """The newest `limit` ids with their hashes, and how many are set aside."""
        if not 1 <= limit <= MAX_IDS:
            raise InvalidInput(f"limit must be between 1 and {MAX_IDS}")
        key = self.keys.corrupt
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.lrange(key, 0, limit - 1)
            pipe.llen(key)
            raw_ids, total = await pipe.execute()
        ids = [raw.decode(errors="replace") for raw in raw_ids]
        async with self.client.pipeline(transaction=False) as pipe:
            for raw in raw_ids:  # the key from the id's bytes, whatever they are
                pipe.hgetall(self.keys.task("").encode() + raw)
            hashes = await pipe.execute()
        entries = [
            CorruptEntry(task_id, {_shown(k): _shown(v) for k, v in sorted(row.items())})
            for task_id, row in zip(ids, hashes, strict=True)
        ]
        return entries, int(total)

    async def drop(self, task_ids: Sequence[str]) -> int:
        """Remove `task_ids` from the list (every entry of each), or every id when
        none is named, in one MULTI/EXEC; returns how many entries went."""
        if len(task_ids) > MAX_IDS:
            raise InvalidInput(f"at most {MAX_IDS} task_ids at once")
        if any(not 1 <= len(task_id) <= ID_MAX for task_id in task_ids):
            raise InvalidInput(f"each task_id must be 1 to {ID_MAX} characters")
        key = self.keys.corrupt
        async with self.client.pipeline(transaction=True) as pipe:
            if task_ids:
                for task_id in task_ids:
                    pipe.lrem(key, 0, task_id)
            else:
                pipe.llen(key)
                pipe.delete(key)
            replies = await pipe.execute()
        return sum(int(r) for r in replies) if task_ids else int(replies[0])
