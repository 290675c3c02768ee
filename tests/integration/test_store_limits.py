"""Limits at claim time (lua/_limits.lua) through the store, on a real Redis.

A concurrency limit holds per key value and frees a slot when its task leaves
ACTIVE; a held-back task is parked (SCHEDULED, reason in its history), not failed;
a rate limit grants no more tokens than it has; ListLimits' numbers match.
"""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from taskflow.errors import InvalidInput
from taskflow.limits import TypeLimits, parse_rate
from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.store.limits import LimitStore
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually


@pytest.fixture
def limits(redis_client: Redis) -> LimitStore:
    return LimitStore(redis_client)


def tenant_task(tenant: str) -> NewTask:
    return NewTask("report", "x", metadata={"tenant": tenant})


async def test_concurrency_limit_per_key_value_holds_back_the_rest(
    store: TaskStore, limits: LimitStore, redis_client: Redis
) -> None:
    await limits.declare(
        {"report": TypeLimits(concurrency=2, concurrency_key="metadata.tenant")}, "t"
    )
    a = await store.create_many([tenant_task("a") for _ in range(4)])
    b = await store.create_many([tenant_task("b") for _ in range(1)])

    claims = await store.claim("w1", 10)

    assert sorted(c.metadata()["tenant"] for c in claims) == ["a", "a", "b"]
    held = [await store.get(c.task_id) for c in a if c.task_id not in {x.task_id for x in claims}]
    assert len(held) == 2
    for task in held:
        assert task.state is TaskState.SCHEDULED
        assert task.retry_count == 0
        assert task.error_history == []
        assert "concurrency limit 2 reached for metadata.tenant=a" in str(task.state_history[-1])
    (use,) = await limits.read()
    assert {s.value: s.used for s in use.slots} == {"a": 2, "b": 1}
    assert use.held_back == 2
    assert use.held_concurrency == 2
    assert use.held_rate == 0
    assert b  # tenant b was never held back by tenant a's use
    await assert_counters_match_hashes(redis_client, store)


async def test_a_slot_frees_when_its_task_completes(store: TaskStore, limits: LimitStore) -> None:
    await limits.declare({"report": TypeLimits(concurrency=1)}, "t")
    first, second = await store.create_many([tenant_task("a"), tenant_task("a")])
    (claim,) = await store.claim("w1", 2)
    assert claim.task_id == first.task_id
    assert (await store.get(second.task_id)).state is TaskState.SCHEDULED

    await store.complete(claim, "done")

    async def promoted() -> bool:  # the back-off is short
        await store.promote_due()
        return (await store.get(second.task_id)).state is TaskState.PENDING

    await eventually(promoted, within=30, what="the held-back task due again")
    (again,) = await store.claim("w1", 2)
    assert again.task_id == second.task_id
    (use,) = await limits.read()
    assert [(s.value, s.used) for s in use.slots] == [("", 1)]


async def test_rate_limit_grants_its_tokens_then_holds_back(
    store: TaskStore, limits: LimitStore, redis_client: Redis
) -> None:
    await limits.declare({"report": TypeLimits(rate="3/m")}, "t")
    await store.create_many([tenant_task("a") for _ in range(5)])

    claims = await store.claim("w1", 10)

    assert len(claims) == 3
    (use,) = await limits.read()
    assert (use.tokens, use.capacity, use.interval_ms) == (0, 3, 60_000)
    assert use.held_back == 2
    assert use.held_rate == 2
    held = [t for t in (await store.status()).states.items() if t[0] is TaskState.SCHEDULED]
    assert held == [(TaskState.SCHEDULED, 2)]
    await store.complete(claims[0], "quick")  # saved before its start is reported
    assert await limits.started([(c, 0.0) for c in claims]) == 3
    await assert_counters_match_hashes(redis_client, store)


async def test_types_without_limits_are_untouched(store: TaskStore, limits: LimitStore) -> None:
    await limits.declare({"report": TypeLimits(concurrency=1), "echo": TypeLimits()}, "t")
    await store.create_many([NewTask("echo", str(i)) for i in range(5)])
    assert len(await store.claim("w1", 10)) == 5
    await limits.declare({"report": TypeLimits()}, "t")
    assert await limits.read() == []


@pytest.mark.parametrize(
    ("rate", "parsed"), [("100/s", (100, 1000)), ("10/m", (10, 60_000)), ("5/2s", (5, 2000))]
)
def test_rates_parse(rate: str, parsed: tuple[int, int]) -> None:
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("bad", ["", "0/s", "10", "ten/s", "10/week"])
def test_bad_rates_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_rate(bad)


def test_a_key_needs_a_concurrency_limit() -> None:
    with pytest.raises(InvalidInput):
        TypeLimits(concurrency_key="metadata.tenant")
    with pytest.raises(InvalidInput):
        TypeLimits(concurrency=1, concurrency_key="tenant")


async def test_a_held_task_taken_straight_from_the_schedule_is_held_to_the_limit_too(
    store: TaskStore, limits: LimitStore, redis_client: Redis
) -> None:
    """A claim with empty lists takes due first runs from tasks:scheduled
    (_claim_due.lua): a held task due again is admitted only if the limit allows,
    else it stays SCHEDULED, due later, with no new transition."""
    await limits.declare({"report": TypeLimits(concurrency=1)}, "t")
    created = await store.create_many([tenant_task("a"), tenant_task("a")])
    (running,) = await store.claim("w1", 2)
    (held,) = [t.task_id for t in created if t.task_id != running.task_id]
    history = (await store.get(held)).state_history
    first_due = await redis_client.zscore(store.keys.scheduled, held)

    async def due_and_refused() -> bool:
        assert await store.claim("w1", 2) == []
        return (await redis_client.zscore(store.keys.scheduled, held) or 0) > (first_due or 0)

    await eventually(due_and_refused, within=30, what="the held task due and held again")
    task = await store.get(held)
    assert task.state is TaskState.SCHEDULED
    assert task.state_history == history
    await store.complete(running, "done")

    async def taken() -> bool:
        return [c.task_id for c in await store.claim("w1", 2)] == [held]

    await eventually(taken, within=30, what="the held task claimed once the slot is free")
    await assert_counters_match_hashes(redis_client, store)
