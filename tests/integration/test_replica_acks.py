"""TASKFLOW_REDIS_REPLICA_ACKS: a state change returns once a replica confirmed it,
and a replica that stops answering slows changes down but does not stop them."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from taskflow.redis_runtime import connected
from taskflow.redis_server import BundledRedis
from taskflow.settings import Settings
from taskflow.store import NewTask, StoreConfig, TaskStore
from tests.support.sentinel import replicated

# A busy machine may keep a healthy replica from answering for a while; a stopped
# one never answers, so a short wait proves the point there.
PATIENT_S = 10.0
IMPATIENT_S = 0.3


@pytest.fixture
def master_and_replica(tmp_path: Path) -> Iterator[tuple[BundledRedis, BundledRedis]]:
    with replicated(tmp_path) as pair:
        yield pair


def settings(master: BundledRedis, ack_timeout: float) -> Settings:
    return Settings(
        REDIS_URL=master.url,
        TASKFLOW_REDIS_REPLICA_ACKS=1,
        TASKFLOW_REDIS_REPLICA_ACK_TIMEOUT=ack_timeout,
    )


def offsets(master: BundledRedis) -> tuple[int, int]:
    """(the master's replication offset, the offset its replica last confirmed)."""
    with redis.Redis(port=master.port) as client:
        info = client.info("replication")
    return int(info["master_repl_offset"]), int(info["slave0"]["offset"])


async def test_a_change_returns_once_the_replica_confirmed_it(
    master_and_replica: tuple[BundledRedis, BundledRedis],
) -> None:
    master, _ = master_and_replica
    async with connected(settings(master, PATIENT_S), master.url) as client:
        store = TaskStore(client, StoreConfig())
        for n in range(10):
            before, _ = offsets(master)
            await store.create(NewTask("echo", f"task {n}"))
            # Unasked, a replica confirms once a second: so soon, only WAIT explains it.
            _, confirmed = offsets(master)
            assert confirmed > before, f"create {n} returned before the replica had it"


async def test_a_stalled_replica_delays_changes_but_does_not_stop_them(
    master_and_replica: tuple[BundledRedis, BundledRedis], caplog: pytest.LogCaptureFixture
) -> None:
    master, replica = master_and_replica
    with redis.Redis(port=replica.port) as direct:
        replica_pid = int(direct.info("server")["process_id"])
    os.kill(replica_pid, signal.SIGSTOP)
    try:
        async with connected(settings(master, IMPATIENT_S), master.url) as client:
            store = TaskStore(client, StoreConfig())
            with caplog.at_level(logging.WARNING, logger="taskflow.redis_acks"):
                created = await store.create(NewTask("echo", "while the replica sleeps"))
            assert (await store.get(created.task_id)).content == "while the replica sleeps"
    finally:
        os.kill(replica_pid, signal.SIGCONT)
    assert "event=replica_ack_missing wanted=1 acked=0" in caplog.text
