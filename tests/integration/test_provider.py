"""The provider client over real HTTP: each failure class, metrics, status, no key in logs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from taskflow.provider import Provider
from taskflow.provider.status import build_provider_status
from taskflow.store.provider_state import ProviderMetricsStore, ProviderState
from taskflow.store.rate_limit import RateLimiter
from taskflow.tasks import (
    InsufficientCredits,
    NetworkTimeout,
    PermanentError,
    RateLimitError,
    ServiceUnavailable,
    TaskError,
)
from taskflow.tasks.services import PROVIDER, build_task_services, close_task_services
from tests.support.fake_openai import TEST_API_KEY, FakeOpenAI, Reply, provider_overrides
from tests.support.stack import settings_for

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
async def provider(
    redis_url: str, redis_client: Redis, fake: FakeOpenAI
) -> AsyncIterator[Provider]:
    settings = settings_for(redis_url, **provider_overrides(fake, OPENROUTER_TIMEOUT=0.5))
    services = await build_task_services(settings, redis_client)
    yield services[PROVIDER]
    await close_task_services(services)


async def test_a_normal_answer_is_the_reply_text(provider: Provider, fake: FakeOpenAI) -> None:
    assert await provider.chat(HELLO) == "A fake summary."
    (request,) = fake.received()
    assert request.json()["model"] == "fake/text-model"
    assert request.json()["messages"] == HELLO


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (Reply(status=429, retry_after="7"), RateLimitError, 7.0),
        (Reply(status=429), RateLimitError, None),
        (Reply(status=402), InsufficientCredits, None),
        (Reply(status=503, retry_after="3"), ServiceUnavailable, 3.0),
        (Reply(status=500), NetworkTimeout, None),
        (Reply(status=502), NetworkTimeout, None),
        (Reply(drop=True), NetworkTimeout, None),
        (Reply(delay_s=1.0), NetworkTimeout, None),  # slower than OPENROUTER_TIMEOUT
        (Reply(status=400), PermanentError, None),
        (Reply(status=401), PermanentError, None),
        (Reply(status=403), PermanentError, None),
        (Reply(status=404), PermanentError, None),
    ],
)
async def test_each_failure_maps_to_its_error_class(
    provider: Provider,
    fake: FakeOpenAI,
    reply: Reply,
    error: type[TaskError],
    retry_after: float | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.answer(reply, times=1)
    with pytest.raises(error) as raised:
        await provider.chat(HELLO)
    assert type(raised.value) is error or issubclass(type(raised.value), error)
    assert raised.value.retry_after == retry_after
    assert TEST_API_KEY not in str(raised.value)
    assert TEST_API_KEY not in caplog.text
    # The connection pool recovers: the next call goes through.
    assert await provider.chat(HELLO) == "A fake summary."


async def test_daily_metrics_count_calls_outcomes_and_rate_limit_hits(
    provider: Provider, fake: FakeOpenAI, redis_client: Redis
) -> None:
    await provider.chat(HELLO)
    fake.answer(Reply(status=429), times=1)
    fake.answer(Reply(status=500), times=1)
    for _ in range(2):
        with pytest.raises(TaskError):
            await provider.chat(HELLO)
    (today,) = await ProviderMetricsStore(redis_client).daily(1)
    assert (today.calls, today.successes, today.failures, today.rate_limit_hits) == (3, 1, 2, 1)


async def status_of(
    redis_url: str, redis_client: Redis, fake: FakeOpenAI | None, **more: Any
) -> Any:
    service = build_provider_status(
        settings_for(redis_url, **provider_overrides(fake, **more)), redis_client
    )
    try:
        return await service.status()
    finally:
        await service.aclose()


async def test_status_is_cached_for_a_minute(
    redis_url: str, redis_client: Redis, fake: FakeOpenAI
) -> None:
    first = await status_of(redis_url, redis_client, fake)
    assert first.status is ProviderState.ACTIVE
    assert first.balance == pytest.approx(8.5)
    assert first.usage_today == pytest.approx(0.25)
    assert not first.cache_hit
    second = await status_of(redis_url, redis_client, fake)
    assert second.cache_hit
    assert second.balance == pytest.approx(8.5)
    assert len(fake.received("/key")) == 1


@pytest.mark.parametrize(
    ("reply", "state"),
    [
        (Reply(status=401), ProviderState.API_KEY_INVALID),
        (Reply(status=402), ProviderState.CREDITS_EXHAUSTED),
        (Reply(status=500), ProviderState.ERROR),
    ],
)
async def test_status_reports_a_refused_key_no_credits_or_an_error(
    redis_url: str, redis_client: Redis, fake: FakeOpenAI, reply: Reply, state: ProviderState
) -> None:
    fake.answer_key(reply)
    status = await status_of(redis_url, redis_client, fake)
    assert status.status is state
    assert TEST_API_KEY not in status.error_details


async def test_status_without_a_key_asks_nobody(redis_url: str, redis_client: Redis) -> None:
    status = await status_of(redis_url, redis_client, None)
    assert status.status is ProviderState.API_KEY_MISSING


async def test_the_key_rate_limit_is_adopted_unless_settings_set_one(
    redis_url: str, redis_client: Redis, fake: FakeOpenAI
) -> None:
    fake.key_data["rate_limit"] = {"requests": 230, "interval": "10s"}
    await status_of(redis_url, redis_client, fake)
    limit = await RateLimiter(redis_client).status()
    assert (limit.requests, limit.interval, limit.source) == (230, "10s", "provider")

    await RateLimiter(redis_client).configure(20, "2s", source="settings")
    await redis_client.flushall()  # drop the cache (and the config), then set ours again
    await RateLimiter(redis_client).configure(20, "2s", source="settings")
    await status_of(redis_url, redis_client, fake)
    assert (await RateLimiter(redis_client).status()).requests == 20
