"""The truth the `metrics:tasks:state:*` counters must equal: a SCAN of the hashes."""

from __future__ import annotations

from collections import Counter

from redis.asyncio import Redis

from taskflow.store import TaskState, TaskStore


async def states_by_scan(client: Redis, store: TaskStore) -> Counter[str]:
    truth: Counter[str] = Counter()
    async for key in client.scan_iter(match=store.keys.pattern("task:*"), count=1000):
        name = key.decode() if isinstance(key, bytes) else key
        if name.removeprefix(store.keys.prefix).count(":") == 1:
            state = await client.hget(name, "state")
            truth[state.decode() if isinstance(state, bytes) else str(state)] += 1
    return truth


async def assert_counters_match_hashes(client: Redis, store: TaskStore) -> None:
    truth = await states_by_scan(client, store)
    counters = (await store.status()).states
    assert {s.value: n for s, n in counters.items() if n} == dict(truth)
    assert all(s in {t.value for t in TaskState} for s in truth)
