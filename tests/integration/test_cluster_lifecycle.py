"""The gRPC lifecycle tests again, on a real three-node Redis Cluster.

Every key lives under the hash tag of the key prefix ({tf}:), so each Lua script
touches one slot on one node; the client follows the cluster's slot map.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from taskflow.redis_runtime import redis_client as make_client
from taskflow.redis_server import BundledRedis
from taskflow.settings import Settings
from taskflow.store import NewTask, StoreConfig, TaskStore
from taskflow.store.event_stream import latest_id
from taskflow.store.replies import text as _text
from tests.integration.test_lifecycle_grpc import (
    api,  # noqa: F401  (fixture used by the tests below)
    test_batch_and_idempotent_creation,
    test_bulk_cleanup_operations,
    test_create_run_complete,
    test_flaky_task_recovers_through_the_retry_queue,
    test_listing_filters_and_pages,
    test_permanent_failure_goes_to_the_dlq_at_once,
    test_transient_failures_retry_then_land_in_the_dlq_and_come_back,
)
from tests.support.cluster import redis_cluster
from tests.support.stack import settings_for

PREFIX = "{tf}:"
__all__ = [
    "test_batch_and_idempotent_creation",
    "test_bulk_cleanup_operations",
    "test_create_run_complete",
    "test_flaky_task_recovers_through_the_retry_queue",
    "test_listing_filters_and_pages",
    "test_permanent_failure_goes_to_the_dlq_at_once",
    "test_transient_failures_retry_then_land_in_the_dlq_and_come_back",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[BundledRedis]]:
    with redis_cluster(Path(tmp_path_factory.mktemp("cluster"))) as nodes:
        yield nodes


@pytest.fixture
async def redis_client(cluster: list[BundledRedis]) -> AsyncIterator[Redis]:
    client = make_client(cluster[0].url, cluster=True)
    for node in cluster:
        with_node = Redis.from_url(node.url)
        await with_node.flushall()
        await with_node.aclose()
    yield client
    await client.aclose()


@pytest.fixture
def redis_url(cluster: list[BundledRedis]) -> str:
    return cluster[0].url


@pytest.fixture
def store(redis_client: Redis) -> TaskStore:
    return TaskStore(redis_client, StoreConfig(prefix=PREFIX))


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return settings_for(redis_url, TASKFLOW_REDIS_CLUSTER=True, TASKFLOW_KEY_PREFIX=PREFIX)


async def test_every_key_of_a_deployment_shares_one_slot(
    store: TaskStore, redis_client: Redis
) -> None:
    await store.create_many([NewTask("echo", str(i)) for i in range(10)])
    keys = [key async for key in redis_client.scan_iter(match=store.keys.pattern("*"))]
    assert len(keys) > 10
    assert {key_slot(key) for key in keys} == {key_slot(store.keys.primary.encode())}


async def test_a_watch_snapshot_reads_in_one_call_or_a_pipeline_across_slots(
    store: TaskStore, redis_client: Redis
) -> None:
    """Under the hash tag the snapshot is one FCALL_RO on the slot's node; under a
    prefix without one, the stream and the hash may sit on different nodes, so
    the store reads them by pipeline (issue 19)."""
    task_id = (await store.create(NewTask("echo", "w"))).task_id
    newest, task = await store.get_after_latest_event(task_id)
    assert newest == await latest_id(redis_client, store.keys)
    assert task == await store.get(task_id)

    untagged = TaskStore(redis_client, StoreConfig(prefix="tf:"))
    stream, hash_key = untagged.keys.events, untagged.keys.task(task_id)
    assert key_slot(stream.encode()) != key_slot(hash_key.encode())
    copied: Any = await redis_client.hgetall(store.keys.task(task_id))
    await redis_client.hset(hash_key, mapping=copied)
    added = _text(await redis_client.xadd(stream, {"event": "{}"}))
    assert await untagged.get_after_latest_event(task_id) == (added, task)
