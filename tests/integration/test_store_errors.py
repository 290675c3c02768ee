"""Bad input and wrong states get a clear domain error and leave nothing half-written."""

import uuid

import pytest
from redis.asyncio import Redis

from taskflow.errors import Conflict, CorruptTask, InvalidInput, LeaseLost, NotFound
from taskflow.store import NewTask, StoreConfig, TaskQuery, TaskState, TaskStore
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually


async def snapshot(client: Redis) -> dict[bytes, object]:
    """Every key with its value, to prove an operation wrote nothing."""
    out: dict[bytes, object] = {}
    async for key in client.scan_iter():
        kind = await client.type(key)
        if kind == b"hash":
            out[key] = await client.hgetall(key)
        elif kind == b"list":
            out[key] = await client.lrange(key, 0, -1)
        elif kind == b"zset":
            out[key] = await client.zrange(key, 0, -1, withscores=True)
        elif kind == b"set":
            out[key] = await client.smembers(key)
        elif kind == b"stream":  # the events stream
            out[key] = await client.xrange(key)
        else:
            out[key] = await client.get(key)
    return out


@pytest.mark.parametrize("bad_id", ["", "nope", "123", "../task:x", "🙂"])
async def test_malformed_ids_are_invalid_input(store: TaskStore, bad_id: str) -> None:
    for call in (store.get, store.delete, store.retry):
        with pytest.raises(InvalidInput, match="not a UUID"):
            await call(bad_id)


async def test_unknown_task_is_not_found(store: TaskStore) -> None:
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound):
        await store.get(unknown)
    with pytest.raises(NotFound):
        await store.delete(unknown)
    with pytest.raises(NotFound):
        await store.retry(unknown)


async def test_retry_in_wrong_state_is_conflict_and_writes_nothing(
    store: TaskStore, redis_client: Redis
) -> None:
    created = await store.create(NewTask("summarize", "x"))
    before = await snapshot(redis_client)
    with pytest.raises(Conflict, match="PENDING"):
        await store.retry(created.task_id)
    assert await snapshot(redis_client) == before


async def test_finishing_without_the_lease_is_refused(
    store: TaskStore, redis_client: Redis
) -> None:
    await store.create(NewTask("summarize", "x"))
    (claim,) = await store.claim("w1", 1)
    await store.complete(claim, "first")
    before = await snapshot(redis_client)
    with pytest.raises(LeaseLost):
        await store.complete(claim, "second")
    with pytest.raises(LeaseLost):
        await store.fail(claim, "late", "Default", permanent=False)
    assert await snapshot(redis_client) == before
    assert (await store.get(claim.task_id)).result == "first"


@pytest.mark.parametrize(
    ("field", "value"),
    [("state", "BOGUS"), ("retry_count", "many"), ("created_us", ""), ("task_type", "")],
)
async def test_malformed_stored_task_is_corrupt_and_left_alone(
    store: TaskStore, redis_client: Redis, field: str, value: str
) -> None:
    created = await store.create(NewTask("summarize", "x"))
    await redis_client.hset(store.keys.task(created.task_id), field, value)
    before = await snapshot(redis_client)
    with pytest.raises(CorruptTask):
        await store.cancel(created.task_id)
    assert await snapshot(redis_client) == before


async def _malformed(store: TaskStore, redis_client: Redis, kind: str) -> str:
    """A task whose hash a claim cannot read, as a real claim left it."""
    if kind == "uncounted":  # written by hand, counted in no state
        task_id = str(uuid.uuid4())
        await redis_client.hset(store.keys.task(task_id), mapping={"state": "LIMBO"})
        await redis_client.lpush(store.keys.primary, task_id)
        assert await store.claim("w", 5) == []  # set aside in tasks:corrupt
        return task_id
    created = await store.create(NewTask("summarize", "x", idempotency_key=f"k-{kind}"))
    if kind == "pending":
        await redis_client.hset(store.keys.task(created.task_id), "retry_count", "many")
        assert await store.claim("w", 5) == []  # set aside in tasks:corrupt
    else:  # active: claimed, leased and indexed, then spoilt
        (claim,) = await store.claim("w", 5)
        await redis_client.hset(store.keys.task(claim.task_id), "created_us", "")
    return created.task_id


@pytest.mark.parametrize("kind", ["pending", "active", "uncounted"])
async def test_deleting_a_malformed_task_removes_every_trace_and_keeps_counters(
    store: TaskStore, redis_client: Redis, kind: str
) -> None:
    task_id = await _malformed(store, redis_client, kind)
    if kind != "active":
        assert await redis_client.lrange(store.keys.corrupt, 0, -1) == [task_id.encode()]
    kept = await store.create(NewTask("summarize", "stays"))
    old = await store.delete(task_id)
    assert old == {"pending": TaskState.PENDING, "active": TaskState.ACTIVE}.get(kind)
    # No key names it, no list, set or sorted set holds it (the events stream keeps
    # its history: that is what history is).
    mark = task_id.encode()
    held = {
        key: value
        for key, value in (await snapshot(redis_client)).items()
        if key != store.keys.events.encode() and (mark in key or mark in repr(value).encode())
    }
    assert held == {}
    await assert_counters_match_hashes(redis_client, store)
    assert (await store.get(kept.task_id)).state is TaskState.PENDING
    with pytest.raises(NotFound):
        await store.delete(task_id)


async def test_a_claim_carries_the_handlers_input_and_one_bad_task_spoils_nothing(
    store: TaskStore, redis_client: Redis
) -> None:
    good = await store.create(NewTask("summarize", "text", metadata={"lang": "en"}))
    bad = await store.create(NewTask("summarize", "x"))
    await redis_client.hset(store.keys.task(bad.task_id), "metadata", "not json")
    claims = {claim.task_id: claim for claim in await store.claim("w", 5)}
    assert set(claims) == {good.task_id, bad.task_id}
    ok = claims[good.task_id]
    assert (ok.task_type, ok.content, ok.retry_count) == ("summarize", "text", 0)
    assert ok.metadata() == {"lang": "en"}
    with pytest.raises(CorruptTask):
        claims[bad.task_id].metadata()


async def test_malformed_history_reads_as_corrupt(store: TaskStore, redis_client: Redis) -> None:
    created = await store.create(NewTask("summarize", "x"))
    await redis_client.hset(store.keys.task(created.task_id), "state_history", "not json")
    with pytest.raises(CorruptTask):
        await store.get(created.task_id)
    # ...and a listing still answers, leaving the unreadable task out.
    page = await store.list_tasks(TaskQuery())
    assert page.tasks == []


@pytest.mark.parametrize(
    "task",
    [
        NewTask(""),
        NewTask("has space"),
        NewTask("x", max_retries=-1),
        NewTask("x", idempotency_key="k" * 201),
    ],
)
async def test_invalid_new_tasks_are_refused_whole(
    store: TaskStore, redis_client: Redis, task: NewTask
) -> None:
    with pytest.raises(InvalidInput):
        await store.create_many([NewTask("summarize", "fine"), task])
    assert await snapshot(redis_client) == {}


@pytest.mark.parametrize(
    "query",
    [TaskQuery(page=0), TaskQuery(page_size=0), TaskQuery(page_size=101)],
)
async def test_bad_listing_queries_are_invalid_input(store: TaskStore, query: TaskQuery) -> None:
    with pytest.raises(InvalidInput):
        await store.list_tasks(query)


async def test_idempotency_key_returns_the_same_task(store: TaskStore) -> None:
    first = await store.create(NewTask("summarize", "x", idempotency_key="order-42"))
    again = await store.create(NewTask("summarize", "y", idempotency_key="order-42"))
    assert first.created
    assert not again.created
    assert again.task_id == first.task_id
    assert (await store.status()).states[TaskState.PENDING] == 1


async def test_a_malformed_task_whose_lease_expired_is_set_aside_and_the_rest_reaped(
    store: TaskStore, redis_client: Redis
) -> None:
    short_lease = TaskStore(redis_client, StoreConfig(lease_ms=1))
    await store.create_many([NewTask("echo", str(i)) for i in range(3)])
    claims = await short_lease.claim("w1", 3)
    broken, *healthy = [c.task_id for c in claims]
    await redis_client.hset(store.keys.task(broken), "retry_count", "many")

    async def reaped() -> bool:
        await store.reap_expired()
        return await redis_client.zcard(store.keys.leases) == 0

    # Before, the malformed one failed the call after the healthy ones had moved,
    # and their counters and events were lost with it.
    await eventually(reaped, within=30, what="every expired lease reaped")
    assert await redis_client.lrange(store.keys.corrupt, 0, -1) == [broken.encode()]
    for task_id in healthy:
        assert (await store.get(task_id)).state is TaskState.PENDING
    await assert_counters_match_hashes(redis_client, store)
