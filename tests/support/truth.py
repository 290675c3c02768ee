"""The truth the `metrics:tasks:state:*` counters must equal: a SCAN of the hashes,
with the due rule (docs/state-machine.md, "Delayed tasks"): a SCHEDULED hash whose
due time (`retry_after`, else `run_at`) is past the Redis clock counts as PENDING."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from redis.asyncio import Redis

from taskflow.store import TaskState, TaskStore

_FIELDS = ("state", "retry_after", "run_at")


async def _now_ms(client: Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _due_ms(retry_after: str, run_at: str) -> int | None:
    text = retry_after or run_at
    if not text:
        return None
    moment = datetime.fromisoformat(text) - datetime(1970, 1, 1, tzinfo=UTC)
    return moment.days * 86_400_000 + moment.seconds * 1000 + moment.microseconds // 1000


async def scheduled_dues(client: Redis, store: TaskStore) -> dict[str, tuple[str, int | None]]:
    """Every task hash's state and, for a SCHEDULED one, its due ms."""
    found: dict[str, tuple[str, int | None]] = {}
    async for key in client.scan_iter(match=store.keys.pattern("task:*"), count=1000):
        name = key.decode() if isinstance(key, bytes) else key
        if name.removeprefix(store.keys.prefix).count(":") == 1:
            state, retry_after, run_at = (
                v.decode() if isinstance(v, bytes) else (v or "")
                for v in await client.hmget(name, *_FIELDS)
            )
            due = _due_ms(retry_after, run_at) if state == "SCHEDULED" else None
            found[name] = (state, due)
    return found


def states_at(hashes: dict[str, tuple[str, int | None]], now_ms: int) -> Counter[str]:
    truth: Counter[str] = Counter()
    for state, due in hashes.values():
        truth["PENDING" if due is not None and due <= now_ms else state] += 1
    return truth


async def states_by_scan(client: Redis, store: TaskStore) -> Counter[str]:
    return states_at(await scheduled_dues(client, store), await _now_ms(client))


async def assert_counters_match_hashes(client: Redis, store: TaskStore) -> None:
    """The counters as status() shows them equal the SCAN with the due rule. A task
    falling due between the SCAN and status() makes the check unsure: it is taken
    again then (a few times), never waved through."""
    for _ in range(5):
        before = await _now_ms(client)
        hashes = await scheduled_dues(client, store)
        counters = (await store.status()).states
        after = await _now_ms(client)
        if any(due is not None and before < due <= after for _, due in hashes.values()):
            continue
        truth = states_at(hashes, after)
        assert {s.value: n for s, n in counters.items() if n} == dict(truth)
        assert all(s in {t.value for t in TaskState} for s in truth)
        return
    raise AssertionError("tasks kept falling due during every check")
