"""The shared rate limiter: one bucket for every process, on the Redis server's clock."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import AsyncIterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from taskflow.provider import ChatClient, Provider, ProviderConfig
from taskflow.provider.guarded import RateLimitWait
from taskflow.store.breaker import CircuitBreakerStore
from taskflow.store.provider_state import ProviderMetricsStore
from taskflow.store.rate_limit import (
    ARRIVAL_MARGIN_S,
    SEND_WITHIN_S,
    RateLimiter,
    interval_seconds,
)
from taskflow.tasks.services import PROVIDER, build_task_services, close_task_services
from tests.support.fake_openai import TEST_API_KEY, FakeOpenAI, provider_overrides
from tests.support.stack import settings_for

HELLO = [{"role": "user", "content": "hello"}]


def test_intervals_read_like_the_provider_writes_them() -> None:
    assert [interval_seconds(s) for s in ("10s", "500ms", "1m", "2", "1h")] == [
        10.0, 0.5, 60.0, 2.0, 3600.0,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="interval"):
        interval_seconds("ten seconds")


async def test_without_a_limit_every_call_goes(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client)
    assert all([(await limiter.try_acquire()).granted for _ in range(50)])
    assert not (await limiter.status()).enabled


async def test_a_spent_token_comes_back_one_interval_after_its_send(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client)
    await limiter.configure(3, "500ms")
    grants = [await limiter.try_acquire() for _ in range(3)]
    assert all(g.granted and g.token for g in grants)
    for grant in grants:
        await limiter.sent(grant)
    denied = await limiter.try_acquire()
    assert not denied.granted
    assert 0.5 < denied.wait_s <= 0.5 + ARRIVAL_MARGIN_S

    status = await limiter.status()
    assert (status.enabled, status.tokens, status.capacity, status.requests) == (True, 0, 3, 3)
    assert (status.refill_rate, status.utilization, status.interval) == (6.0, 1.0, "500ms")

    started = time.monotonic()
    assert (await limiter.acquire(timeout_s=1.0)).granted
    assert time.monotonic() - started == pytest.approx(denied.wait_s, abs=0.1)


async def test_a_late_send_holds_its_token_from_the_send_on(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client)
    await limiter.configure(1, "1s")
    grant = await limiter.try_acquire()
    await asyncio.sleep(0.5)  # the caller sends half a second after its grant
    await limiter.sent(grant)
    sent = time.monotonic()
    assert (await limiter.acquire(timeout_s=10)).granted
    # Counted from the grant, the token would be back 0.5 s after the send.
    assert time.monotonic() - sent >= 1.0 + ARRIVAL_MARGIN_S - 0.05


async def test_a_token_given_up_unused_is_free_at_once(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client)
    await limiter.configure(1, "10s")
    grant = await limiter.try_acquire()
    assert not (await limiter.try_acquire()).granted
    await limiter.unused(grant)
    assert (await limiter.try_acquire()).granted


async def test_a_waiter_reserves_the_first_token_back_and_no_one_takes_it(
    redis_client: Redis,
) -> None:
    limiter = RateLimiter(redis_client)
    await limiter.configure(1, "500ms")
    first = await limiter.try_acquire()
    await limiter.sent(first)
    sent = time.monotonic()
    reserved = await limiter.try_acquire(reserve_within_s=5.0)
    assert reserved.granted
    assert reserved.token
    # Not before the token is back: one interval and the margin after the send.
    assert reserved.not_before >= sent + 0.5 + ARRIVAL_MARGIN_S - 0.05
    assert reserved.send_by > reserved.not_before
    # Once it is back, it is still the reserver's: another caller finds none.
    while time.monotonic() < reserved.not_before + 0.2:
        assert not (await limiter.try_acquire()).granted
        await asyncio.sleep(0.02)
    await limiter.sent(reserved)


async def test_acquire_sleeps_until_its_reserved_token_is_back(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client)
    await limiter.configure(1, "500ms")
    await limiter.sent(await limiter.try_acquire())
    sent = time.monotonic()
    grant = await limiter.acquire(timeout_s=5.0)
    assert grant.granted
    assert time.monotonic() >= sent + 0.5 + ARRIVAL_MARGIN_S - 0.05
    assert grant.in_time()


async def test_a_reservation_given_back_is_out_until_its_token_is_back(
    redis_client: Redis,
) -> None:
    """Given back before its token returned, a reservation frees nothing early: the
    token's last send was less than an interval ago."""
    limiter = RateLimiter(redis_client)
    await limiter.configure(1, "1s")
    await limiter.sent(await limiter.try_acquire())
    reserved = await limiter.try_acquire(reserve_within_s=5.0)
    assert reserved.granted
    await limiter.unused(reserved)
    denied = await limiter.try_acquire()
    assert not denied.granted
    assert denied.wait_s > 0.5


async def test_with_the_limit_lowered_a_reservation_waits_for_the_count_to_drop(
    redis_client: Redis,
) -> None:
    """Five tokens out, the limit now two: the first to be free again is the fourth
    to come back (after it, only the fifth is out)."""
    limiter = RateLimiter(redis_client)
    await limiter.configure(5, "1s")
    sent_at = []
    for _ in range(5):
        await limiter.sent(await limiter.try_acquire())
        sent_at.append(time.monotonic())
        await asyncio.sleep(0.1)
    await limiter.configure(2, "1s")
    back = [t + 1.0 + ARRIVAL_MARGIN_S for t in sent_at]
    first = await limiter.try_acquire(reserve_within_s=10.0)
    second = await limiter.try_acquire(reserve_within_s=10.0)
    assert first.granted
    assert second.granted
    assert first.not_before >= back[3] - 0.05
    assert second.not_before >= back[4] - 0.05
    assert not (await limiter.try_acquire(reserve_within_s=10.0)).granted  # both are taken


async def test_a_token_never_reported_counts_as_sent_at_its_deadline(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client)
    await limiter.configure(1, "200ms")
    taken = time.monotonic()
    assert (await limiter.try_acquire()).granted  # its holder dies without a word
    assert (await limiter.acquire(timeout_s=10)).granted
    assert time.monotonic() - taken >= SEND_WITHIN_S + 0.2 + ARRIVAL_MARGIN_S - 0.05


async def test_a_wait_longer_than_the_timeout_gives_up_at_once(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client)
    await limiter.configure(1, "10s")
    assert (await limiter.try_acquire()).granted
    started = time.monotonic()
    grant = await limiter.acquire(timeout_s=1.0)
    assert not grant.granted
    assert grant.wait_s > 9
    assert time.monotonic() - started < 0.5


@pytest.fixture
async def provider(
    redis_url: str, redis_client: Redis, fake: FakeOpenAI
) -> AsyncIterator[Provider]:
    overrides = provider_overrides(
        fake,
        OPENROUTER_RATE_LIMIT_REQUESTS=2,
        OPENROUTER_RATE_LIMIT_INTERVAL="30s",
        OPENROUTER_RATE_LIMIT_WAIT=0.2,
    )
    services = await build_task_services(settings_for(redis_url, **overrides), redis_client)
    yield services[PROVIDER]
    await close_task_services(services)


async def test_a_call_without_a_token_is_not_sent_and_asks_to_come_back(
    provider: Provider, fake: FakeOpenAI
) -> None:
    await provider.chat(HELLO)
    await provider.chat(HELLO)
    with pytest.raises(RateLimitWait) as raised:
        await provider.chat(HELLO)
    assert raised.value.error_type == "RateLimitError"
    assert not raised.value.consumes_retry
    assert 25 < (raised.value.retry_after or 0) <= 30 + ARRIVAL_MARGIN_S
    assert len(fake.received()) == 2


# Four processes, four callers each, share a bucket of 20 calls per 2 s for 6 s.
PROCESSES, CALLERS, REQUESTS, INTERVAL, SECONDS = 4, 4, 20, 2.0, 6.0
# Each caller waits this long for a token at most, then asks again when the next
# one is due (until time is up).
TOKEN_WAIT_S = 1.0
# Spawning a process and importing everything can take long on a loaded machine:
# the measure starts when every process is ready, within this.
READY_WITHIN_S = 90.0


def hammer(redis_url: str, base_url: str, ready: Queue[int], go: Event) -> None:
    """One process: CALLERS loops calling the provider through the shared limiter
    (the executor's Provider) for SECONDS from `go`."""
    asyncio.run(_hammer(redis_url, base_url, ready, go))


async def _hammer(redis_url: str, base_url: str, ready: Queue[int], go: Event) -> None:
    client = Redis.from_url(redis_url)
    chat = ChatClient(ProviderConfig(api_key=SecretStr(TEST_API_KEY), base_url=base_url))
    provider = Provider(
        chat, CircuitBreakerStore(client), RateLimiter(client), ProviderMetricsStore(client),
        rate_limit_wait_s=TOKEN_WAIT_S,
    )  # fmt: skip
    # Open the connections first, as a running worker has them: the window check is
    # about the limiter, not about a cold pool delaying the first burst's arrival.
    await asyncio.gather(*(chat.key_info() for _ in range(CALLERS)))
    ready.put(os.getpid())
    await asyncio.to_thread(go.wait, READY_WITHIN_S)
    end = time.monotonic() + SECONDS

    async def caller() -> None:
        while time.monotonic() < end:
            try:
                await provider.chat(HELLO)
            except RateLimitWait as wait:
                # Back when the next token is within reach, as a rescheduled task
                # would be: asking again at once only loads the machine measured.
                await asyncio.sleep(max(0.0, (wait.retry_after or 0.0) - TOKEN_WAIT_S / 2))

    try:
        await asyncio.gather(*(caller() for _ in range(CALLERS)))
    finally:
        await chat.aclose()
        await client.aclose()


async def test_four_processes_never_exceed_the_shared_limit_and_use_most_of_it(
    redis_url: str, redis_client: Redis, fake: FakeOpenAI
) -> None:
    """Counted where the promise is made: at the provider, over whole intervals."""
    await RateLimiter(redis_client).configure(REQUESTS, f"{INTERVAL:g}s")
    context = multiprocessing.get_context("spawn")
    ready, go = context.Queue(), context.Event()
    workers = [
        context.Process(target=hammer, args=(redis_url, fake.url, ready, go))
        for _ in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    for _ in workers:
        await asyncio.to_thread(ready.get, True, READY_WITHIN_S)
    started = time.time()
    go.set()
    for process in workers:
        await asyncio.to_thread(process.join, SECONDS + READY_WITHIN_S)
        assert process.exitcode == 0

    arrivals = sorted(r.at for r in fake.received() if r.at >= started)
    assert arrivals, "no call reached the provider"
    busiest = max(sum(1 for t in arrivals if start <= t < start + INTERVAL) for start in arrivals)
    assert busiest <= REQUESTS
    allowance = REQUESTS * SECONDS / INTERVAL
    assert len(arrivals) >= 0.9 * allowance, f"{len(arrivals)} calls of {allowance:g} allowed"
