"""Shared fixtures: a real Redis-compatible server (the bundled valkey) on a free port."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from taskflow.redis_server import BundledRedis
from taskflow.store import StoreConfig, TaskStore
from tests.support.fake_openai import FakeOpenAI


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BundledRedis]:
    """One server for the whole run; each test starts from an empty database."""
    server = BundledRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: BundledRedis) -> str:
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def store(redis_client: Redis) -> TaskStore:
    return TaskStore(redis_client, StoreConfig())


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A local OpenAI-compatible server, told per test how to answer."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running at its end are killed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
