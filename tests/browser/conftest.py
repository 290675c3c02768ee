"""The whole stack as real processes, once for the browser tests: bundled Redis
(emptied before each test), scheduler, executor, monitor, and the gateway serving
the built dashboard, with the LLM provider played by a local fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskflow.redis_server import BundledRedis
from tests.browser.specs import ensure_dashboard_built
from tests.browser.stack import Stack, provider_env, running_stack
from tests.support.fake_openai import FakeOpenAI, Reply


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(
    redis_server: BundledRedis, provider: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    ensure_dashboard_built()
    logs = tmp_path_factory.mktemp("browser-stack")
    with running_stack(redis_server.url, logs, provider_env(provider)) as running:
        yield running


@pytest.fixture
def live(stack: Stack, redis_url: str, provider: FakeOpenAI) -> Stack:
    """The stack with an empty Redis (`redis_url` flushes it) and a provider that
    answers every call normally."""
    provider.answer(Reply())
    return stack
