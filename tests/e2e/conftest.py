"""The whole stack behind the gateway, over real HTTP: one stack per test module
(tests of a module share its event loop: `pytestmark = MODULE_LOOP`), and an empty
Redis for each test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from taskflow.redis_server import BundledRedis
from tests.support.gateway_stack import GatewayStack, gateway_stack

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
# Small limits, so the 413 cases need no large bodies; a heartbeat a test can wait for.
SETTINGS: dict[str, Any] = {
    "TASKFLOW_SSE_HEARTBEAT_SECONDS": 1,
    "TASKFLOW_MAX_CONTENT_BYTES": 10_000,
    "TASKFLOW_MAX_PAYLOAD_BYTES": 100_000,
    "TASKFLOW_GATEWAY_MAX_BODY_BYTES": 200_000,
}


@contextlib.asynccontextmanager
async def whole_stack(redis_server: BundledRedis, **overrides: Any) -> AsyncIterator[GatewayStack]:
    """The stack with SETTINGS and `overrides` (Settings aliases) on the test Redis."""
    client = Redis.from_url(redis_server.url)
    try:
        async with gateway_stack(redis_server.url, client, **SETTINGS, **overrides) as running:
            yield running
    finally:
        await client.aclose()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(redis_server: BundledRedis) -> AsyncIterator[GatewayStack]:
    async with whole_stack(redis_server) as running:
        yield running


@pytest.fixture
def http(stack: GatewayStack, redis_url: str) -> httpx.AsyncClient:
    """The gateway's client; `redis_url` empties Redis before the test."""
    return stack.http
