"""The circuit breaker shared through Redis: thresholds, one probe, operator controls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from taskflow.provider import Provider
from taskflow.provider.guarded import PARK_SPREAD, BreakerOpen
from taskflow.store.breaker import BreakerConfig, BreakerState, CircuitBreakerStore, Permit
from taskflow.tasks import NetworkTimeout, Parked
from taskflow.tasks.services import PROVIDER, build_task_services, close_task_services
from tests.support.fake_openai import FakeOpenAI, Reply, provider_overrides
from tests.support.stack import settings_for

SERVICE = "openrouter"
FAST = BreakerConfig(
    failure_threshold=3, volume_threshold=4, failure_ratio=0.5, open_seconds=0.4,
    window_seconds=1.0, probe_seconds=5.0,
)  # fmt: skip
CLOSED_PERMIT = Permit(allowed=True)


@pytest.fixture
async def second_client(redis_url: str) -> AsyncIterator[Redis]:
    """Another connection, standing for another worker process."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def breakers(redis_client: Redis, second_client: Redis) -> tuple[CircuitBreakerStore, ...]:
    return CircuitBreakerStore(redis_client, FAST), CircuitBreakerStore(second_client, FAST)


async def test_opens_when_failures_volume_and_ratio_are_all_met(
    breakers: tuple[CircuitBreakerStore, CircuitBreakerStore],
) -> None:
    one, two = breakers
    await one.record_success(SERVICE, CLOSED_PERMIT)
    await two.record_failure(SERVICE, CLOSED_PERMIT)
    await one.record_failure(SERVICE, CLOSED_PERMIT)
    assert (await two.state(SERVICE)).state is BreakerState.CLOSED  # 2 failures: too few
    assert await two.record_failure(SERVICE, CLOSED_PERMIT) is BreakerState.OPEN

    status = await one.state(SERVICE)
    assert status.state is BreakerState.OPEN
    assert (status.failures, status.volume, status.consecutive_failures) == (3, 4, 3)
    assert status.opened_at is not None
    for breaker in breakers:
        permit = await breaker.acquire(SERVICE)
        assert not permit.allowed
        assert 0 < permit.retry_after_s <= FAST.open_seconds


async def test_a_low_failure_ratio_keeps_it_closed(
    breakers: tuple[CircuitBreakerStore, CircuitBreakerStore],
) -> None:
    one, _ = breakers
    for _ in range(4):
        await one.record_success(SERVICE, CLOSED_PERMIT)
    for _ in range(3):
        await one.record_failure(SERVICE, CLOSED_PERMIT)
    assert (await one.state(SERVICE)).state is BreakerState.CLOSED  # 3 of 7 < 0.5


async def test_old_failures_leave_the_rolling_window(
    breakers: tuple[CircuitBreakerStore, CircuitBreakerStore],
) -> None:
    one, _ = breakers
    for _ in range(2):
        await one.record_failure(SERVICE, CLOSED_PERMIT)
    await asyncio.sleep(FAST.window_seconds + 0.1)
    for _ in range(2):
        await one.record_failure(SERVICE, CLOSED_PERMIT)
    status = await one.state(SERVICE)
    assert status.state is BreakerState.CLOSED
    assert status.failures == 2


async def open_breaker(breaker: CircuitBreakerStore) -> None:
    for _ in range(4):
        await breaker.record_failure(SERVICE, CLOSED_PERMIT)
    assert (await breaker.state(SERVICE)).state is BreakerState.OPEN


async def test_after_the_timeout_exactly_one_probe_goes_and_its_success_closes(
    breakers: tuple[CircuitBreakerStore, CircuitBreakerStore],
) -> None:
    await open_breaker(breakers[0])
    await asyncio.sleep(FAST.open_seconds + 0.05)
    assert (await breakers[1].state(SERVICE)).state is BreakerState.HALF_OPEN
    permits = await asyncio.gather(*(b.acquire(SERVICE) for b in breakers for _ in range(10)))
    probes = [p for p in permits if p.allowed]
    assert len(probes) == 1
    assert probes[0].probe
    assert await breakers[1].record_success(SERVICE, probes[0]) is BreakerState.CLOSED
    status = await breakers[0].state(SERVICE)
    assert (status.state, status.failures, status.consecutive_failures) == (
        BreakerState.CLOSED, 0, 0,
    )  # fmt: skip
    assert (await breakers[0].acquire(SERVICE)).allowed


async def test_a_failed_probe_opens_it_again(
    breakers: tuple[CircuitBreakerStore, CircuitBreakerStore],
) -> None:
    await open_breaker(breakers[0])
    await asyncio.sleep(FAST.open_seconds + 0.05)
    probe = await breakers[1].acquire(SERVICE)
    assert probe.probe
    assert await breakers[1].record_failure(SERVICE, probe) is BreakerState.OPEN
    rejected = await breakers[0].acquire(SERVICE)
    assert not rejected.allowed
    assert rejected.retry_after_s > FAST.open_seconds / 2


async def test_operators_open_it_until_they_reset_it(
    breakers: tuple[CircuitBreakerStore, CircuitBreakerStore],
) -> None:
    one, two = breakers
    opened = await one.open(SERVICE)
    assert (opened.state, opened.forced) == (BreakerState.OPEN, True)
    await asyncio.sleep(FAST.open_seconds + 0.05)
    assert not (await two.acquire(SERVICE)).allowed  # no probe while forced open
    assert (await two.all_states())[SERVICE].state is BreakerState.OPEN

    reset = await two.reset(SERVICE)
    assert (reset.state, reset.forced) == (BreakerState.CLOSED, False)
    assert (await one.acquire(SERVICE)).allowed


async def test_all_states_lists_every_breaker_touched(
    breakers: tuple[CircuitBreakerStore, CircuitBreakerStore],
) -> None:
    one, two = breakers
    assert await one.all_states() == {}
    await one.acquire("openrouter")
    await two.open("other")
    states = await one.all_states()
    assert {name: s.state for name, s in states.items()} == {
        "openrouter": BreakerState.CLOSED,
        "other": BreakerState.OPEN,
    }


@pytest.fixture
async def provider(
    redis_url: str, redis_client: Redis, fake: FakeOpenAI
) -> AsyncIterator[Provider]:
    overrides = provider_overrides(
        fake, CIRCUIT_FAILURE_THRESHOLD=3, CIRCUIT_VOLUME_THRESHOLD=3, CIRCUIT_TIMEOUT=0.4
    )
    services = await build_task_services(settings_for(redis_url, **overrides), redis_client)
    yield services[PROVIDER]
    await close_task_services(services)


async def test_an_open_breaker_stops_calls_before_they_reach_the_provider(
    provider: Provider, fake: FakeOpenAI
) -> None:
    hello = [{"role": "user", "content": "hello"}]
    fake.answer(Reply(status=500))
    for _ in range(3):
        with pytest.raises(NetworkTimeout):
            await provider.chat(hello)
    with pytest.raises(BreakerOpen) as rejected:
        await provider.chat(hello)
    # Parked until the probe may go (plus the spread), not failed.
    assert isinstance(rejected.value, Parked)
    assert 0 < rejected.value.hold_s <= 0.4 * (1 + PARK_SPREAD)
    assert len(fake.received()) == 3

    fake.answer(Reply())
    await asyncio.sleep(0.45)
    assert await provider.chat(hello) == "A fake summary."  # the probe
    assert await provider.chat(hello) == "A fake summary."
    assert len(fake.received()) == 5
