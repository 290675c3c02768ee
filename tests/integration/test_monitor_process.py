"""`python -m services.monitor` as a real process: it serves, says where, and stops
cleanly on SIGTERM; the watch hub reconnects
after Redis drops its connection, and no event is lost meanwhile."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio import Redis

from taskflow.redis_server import free_port
from taskflow.store import NewTask, TaskStore
from taskflow.v1 import monitor_service_pb2 as pb
from tests.support.processes import service_env, start_service
from tests.support.stack import MonitorClient, monitor, settings_for
from tests.support.waiting import eventually


async def test_monitor_process_serves_then_stops_on_sigterm(
    redis_url: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    address = f"127.0.0.1:{free_port()}"
    log = tmp_path / "monitor.log"
    process = start_service(
        "monitor", service_env(redis_url, TASKFLOW_MONITOR_ADDRESS=address), log
    )
    processes.append(process)
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)

        async def serving() -> bool:
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.aio.AioRpcError:
                return False
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

        await eventually(serving, within=60, what="monitor serving")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, log.read_text()
    output = log.read_text()
    assert f"address={address}" in output
    assert "event=service_stopped service=monitor" in output


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[MonitorClient]:
    async with monitor(settings_for(redis_url), redis_client) as client:
        yield client


async def test_a_dropped_stream_connection_loses_no_event(
    api: MonitorClient, store: TaskStore, redis_client: Redis
) -> None:
    stream: Any = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=1))
    await stream.read()

    async def reader_ids() -> list[str]:
        clients = await redis_client.client_list()
        return [str(c["id"]) for c in clients if c.get("cmd") == "xread"]

    async def reading() -> bool:
        return bool(await reader_ids())

    await eventually(reading, within=10, what="the hub blocked on the events stream")
    for client_id in await reader_ids():
        await redis_client.client_kill_filter(_id=client_id)
    created = await store.create(NewTask("echo", "while the reader is down"))
    while (message := await stream.read()).WhichOneof("event") != "task_created":
        pass  # heartbeats while the hub reconnects
    assert message.task_created.task_id == created.task_id
    assert message.task_created.state_counts.pending == 1
    await store.create(NewTask("echo", "after"))
    while (message := await stream.read()).WhichOneof("event") != "task_created":
        pass
    assert message.task_created.state_counts.pending == 2
    stream.cancel()
