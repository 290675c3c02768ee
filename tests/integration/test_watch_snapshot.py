"""WatchTask's snapshot read (issue 19): the newest event id, the clock and the hash
in one read-only call (lua/watch_snapshot.lua, FCALL_RO; EVALSHA on a server
without functions), with the same results as reading them one by one."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from taskflow.errors import NotFound
from taskflow.store import NewTask, StoreConfig, TaskStore
from taskflow.store.event_stream import ORIGIN, latest_id


async def _fcall_ro_calls(client: Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_fcall_ro", {}).get("calls", 0))


@pytest.mark.parametrize("functions", [True, False], ids=["fcall_ro", "evalsha"])
async def test_the_snapshot_is_the_newest_event_then_the_task(
    redis_client: Redis, functions: bool
) -> None:
    store = TaskStore(redis_client, StoreConfig(functions=functions))
    first = (await store.create(NewTask("echo", "a"))).task_id
    second = (await store.create(NewTask("echo", "b"))).task_id

    before = await _fcall_ro_calls(redis_client)
    newest, task = await store.get_after_latest_event(first)
    assert newest == await latest_id(redis_client, store.keys) != ORIGIN
    assert task == await store.get(first)
    assert (await store.get_after_latest_event(second))[1] == await store.get(second)
    assert await _fcall_ro_calls(redis_client) - before == (2 if functions else 0)

    with pytest.raises(NotFound, match="does not exist"):
        await store.get_after_latest_event("00000000-0000-4000-8000-000000000000")

    await redis_client.xtrim(store.keys.events, maxlen=0)
    assert (await store.get_after_latest_event(first))[0] == ORIGIN


async def test_a_client_that_decodes_replies_reads_the_same(redis_url: str) -> None:
    async with Redis.from_url(redis_url, decode_responses=True) as client:
        store = TaskStore(client, StoreConfig())
        task_id = (await store.create(NewTask("echo", "x", metadata={"k": "v"}))).task_id
        newest, task = await store.get_after_latest_event(task_id)
        assert newest == await latest_id(client, store.keys)
        assert task == await store.get(task_id)
