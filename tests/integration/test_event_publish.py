"""The `queue-updates` channel (contract §5) is published to only while someone
listens (lua/_prelude.lua, heard()): a client subscribed to the channel or to any
pattern gets every event, each the stream's event; with no one subscribed, a drain
runs no PUBLISH at all (the monitor reads the events stream). On a Redis Cluster,
where a node counts only its own subscribers, every event is published."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from taskflow.redis_runtime import redis_client as make_client
from taskflow.redis_server import BundledRedis
from taskflow.store import NewTask, StoreConfig, TaskStore, event_stream
from taskflow.store.event_stream import ORIGIN
from taskflow.store.events import parse_event
from tests.support.cluster import redis_cluster


async def drain(store: TaskStore, n: int, batch: int) -> None:
    """Create n tasks, then complete and claim them as an executor's lane does."""
    await store.create_many([NewTask("echo", str(i)) for i in range(n)])
    held = await store.claim("w", batch)
    while held:
        outcomes, claimed = await store.complete_and_claim([(h, "ok") for h in held], "w", batch)
        assert outcomes == [None] * len(held)
        assert isinstance(claimed, list)
        held = claimed


async def received(pubsub: Any, count: int) -> list[bytes]:
    """`count` messages from a subscribed pubsub (fails if fewer come in 60 s)."""
    bodies: list[bytes] = []
    async with asyncio.timeout(60):
        while len(bodies) < count:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                bodies.append(message["data"])
    return bodies


async def publishes(client: Redis) -> int:
    stats: dict[str, Any] = await client.info("commandstats")
    return int(stats.get("cmdstat_publish", {"calls": 0})["calls"])


@pytest.mark.parametrize("pattern", [False, True], ids=["channel", "pattern"])
async def test_a_subscriber_gets_every_event_of_a_drain(
    store: TaskStore, redis_client: Redis, pattern: bool
) -> None:
    pubsub = redis_client.pubsub()
    if pattern:
        await pubsub.psubscribe(store.keys.channel[:-3] + "*")
    else:
        await pubsub.subscribe(store.keys.channel)
    try:
        await drain(store, 20, 8)
        # 20 created (one event each), claimed and completed.
        bodies = await received(pubsub, 60)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    kept = [event async for event in event_stream.replay(redis_client, store.keys, ORIGIN)]
    assert [replace(event, event_id="") for event in kept] == [parse_event(b) for b in bodies]
    changes = [json.loads(b) for b in bodies if json.loads(b)["type"] == "task_state_changed"]
    assert len(changes) == 40
    assert {(c["old_state"], c["new_state"]) for c in changes} == {
        ("PENDING", "ACTIVE"),
        ("ACTIVE", "COMPLETED"),
    }
    shared = {"queue_depths", "state_counts", "timestamp", "task_type"}
    assert all(shared <= c.keys() for c in changes)


async def test_with_no_subscriber_a_drain_publishes_nothing(
    store: TaskStore, redis_client: Redis
) -> None:
    await redis_client.config_resetstat()
    await drain(store, 20, 8)
    assert await publishes(redis_client) == 0
    kept = [event async for event in event_stream.replay(redis_client, store.keys, ORIGIN)]
    assert len(kept) == 60  # every event is still in the stream

    pubsub = redis_client.pubsub()
    await pubsub.subscribe(store.keys.channel)
    try:
        await drain(store, 4, 8)  # someone listens again: published again
        assert len(await received(pubsub, 12)) == 12
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert await publishes(redis_client) == 12


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[BundledRedis]]:
    with redis_cluster(Path(tmp_path_factory.mktemp("cluster"))) as nodes:
        yield nodes


async def test_on_a_cluster_a_subscriber_of_another_node_gets_every_event(
    cluster: list[BundledRedis],
) -> None:
    prefix = "{tf}:"
    client = make_client(cluster[0].url, cluster=True)
    store = TaskStore(client, StoreConfig(prefix=prefix))
    assert isinstance(client, RedisCluster)
    await client.initialize()
    owner = client.get_node_from_key(prefix)
    other = next(n for n in cluster if n.port != owner.port)
    listener = Redis.from_url(other.url)
    pubsub = listener.pubsub()
    await pubsub.subscribe(store.keys.channel)
    try:
        await drain(store, 5, 8)
        bodies = await received(pubsub, 15)
    finally:
        await pubsub.aclose()
        await listener.aclose()
        await client.aclose()
    assert (
        sorted(json.loads(b)["type"] for b in bodies)
        == ["task_created"] * 5 + ["task_state_changed"] * 10
    )


async def test_a_user_not_allowed_the_pubsub_reads_still_publishes(
    store: TaskStore, redis_client: Redis, redis_url: str
) -> None:
    user = "no-pubsub-reads"
    await redis_client.acl_setuser(
        user,
        enabled=True,
        passwords=["+secret"],
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-pubsub|numsub", "-pubsub|numpat"],
    )
    limited = Redis.from_url(redis_url, username=user, password="secret")
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(store.keys.channel)
    try:
        await drain(TaskStore(limited, store.config), 3, 8)
        assert len(await received(pubsub, 9)) == 9
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await limited.aclose()
        await redis_client.acl_deluser(user)
