"""TLS from the settings' PEM files: the three gRPC servers speak only TLS (and with
a client CA, only to clients holding a certificate it signed); the gateway and the
CLI reach them over it; Redis is reached over rediss:// checked against our CA.
Certificates come from a CA the test makes with openssl."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from services.executor.app import serve as serve_executor
from services.monitor.app import running_monitor
from services.scheduler.app import running_scheduler
from taskflow.redis_runtime import connected
from taskflow.redis_server import BundledRedis, free_port
from taskflow.rpc.tls import open_channel
from taskflow.settings import Settings
from taskflow.store import NewTask, StoreConfig, TaskStore
from tests.support.certs import Issued, TestCA
from tests.support.gateway_stack import running_gateway, wait_for_state
from tests.support.processes import ROOT
from tests.support.stack import settings_for
from tests.support.tls_proxy import tls_terminator

# The services' certificate names no address: clients check this name instead.
SERVER_NAME = "services.taskflow.test"
SERVING = health_pb2.HealthCheckResponse.SERVING


@dataclass(frozen=True)
class Pki:
    ca: TestCA
    server: Issued
    client: Issued
    stranger: Issued  # a client certificate from another CA


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = TestCA(tmp_path / "pki")
    other = TestCA(tmp_path / "other-pki", name="someone-else-ca")
    return Pki(
        ca,
        server=ca.issue("services", names=[f"DNS:{SERVER_NAME}"]),
        client=ca.issue("gateway", names=["DNS:gateway"], client=True),
        stranger=other.issue("stranger", names=["DNS:stranger"], client=True),
    )


def tls_settings(redis_url: str, pki: Pki, *, mutual: bool) -> Settings:
    files = {
        "TASKFLOW_TLS_CERT_FILE": pki.server.cert,
        "TASKFLOW_TLS_KEY_FILE": pki.server.key,
        "TASKFLOW_TLS_CA_FILE": pki.ca.cert,
        "TASKFLOW_TLS_SERVER_NAME": SERVER_NAME,
    }
    if mutual:
        files |= {
            "TASKFLOW_TLS_CLIENT_CA_FILE": pki.ca.cert,
            "TASKFLOW_TLS_CLIENT_CERT_FILE": pki.client.cert,
            "TASKFLOW_TLS_CLIENT_KEY_FILE": pki.client.key,
        }
    return settings_for(redis_url, TASKFLOW_EXECUTOR_ADDRESS=f"127.0.0.1:{free_port()}", **files)


async def health(channel: aio.Channel) -> int:
    reply = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(), timeout=5
    )
    return int(reply.status)


@contextlib.asynccontextmanager
async def tls_services(settings: Settings, client: Redis) -> AsyncIterator[Settings]:
    """Scheduler, monitor and executor in-process; yields settings naming their ports."""
    async with (
        running_scheduler(settings, client) as scheduler,
        running_monitor(settings, client) as monitor,
    ):
        settings = settings.model_copy(
            update={"scheduler_address": scheduler.address, "monitor_address": monitor.address}
        )
        stop = asyncio.Event()
        executor = asyncio.create_task(serve_executor(settings, client, stop))
        try:
            async with open_channel(settings, settings.executor_address) as channel:
                await asyncio.wait_for(channel.channel_ready(), 60)
            yield settings
        finally:
            stop.set()
            await executor


def addresses(settings: Settings) -> list[str]:
    return [settings.scheduler_address, settings.executor_address, settings.monitor_address]


async def test_the_gateway_reaches_every_service_over_mutual_tls(
    redis_url: str, redis_client: Redis, pki: Pki
) -> None:
    async with (
        tls_services(tls_settings(redis_url, pki, mutual=True), redis_client) as settings,
        running_gateway(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as http,
    ):
        ready = await http.get("/ready")
        created = await http.post("/api/v1/tasks", json={"task_type": "echo", "content": "tls"})
        assert created.status_code == 201, created.text
        task = await wait_for_state(http, created.json()["task_id"], "COMPLETED")

    assert ready.status_code == 200, ready.text
    assert task["result"] == "tls"


async def test_every_server_refuses_plaintext_and_clients_without_our_certificate(
    redis_url: str, redis_client: Redis, pki: Pki
) -> None:
    settings = tls_settings(redis_url, pki, mutual=True)
    no_certificate = settings.model_copy(
        update={"tls_client_cert_file": None, "tls_client_key_file": None}
    )
    strangers = settings.model_copy(
        update={
            "tls_client_cert_file": pki.stranger.cert,
            "tls_client_key_file": pki.stranger.key,
        }
    )
    async with tls_services(settings, redis_client) as running:
        for address in addresses(running):
            refused = {
                "plaintext": aio.insecure_channel(address),
                "no client certificate": open_channel(no_certificate, address),
                "another CA's certificate": open_channel(strangers, address),
            }
            for who, channel in refused.items():
                async with channel:
                    with pytest.raises(grpc.aio.AioRpcError) as caught:
                        await health(channel)
                assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, (address, who)
            async with open_channel(running, address) as ours:
                assert await health(ours) == SERVING, address


async def test_the_cli_submits_and_follows_a_task_over_tls(
    redis_url: str, redis_client: Redis, pki: Pki
) -> None:
    async with tls_services(tls_settings(redis_url, pki, mutual=False), redis_client) as running:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKFLOW_")}
        env |= {
            "TASKFLOW_SCHEDULER_ADDRESS": running.scheduler_address,
            "TASKFLOW_MONITOR_ADDRESS": running.monitor_address,
            "TASKFLOW_TLS_SERVER_NAME": SERVER_NAME,
        }
        plaintext = await submit(env, "plain")
        over_tls = await submit(env | {"TASKFLOW_TLS_CA_FILE": str(pki.ca.cert)}, "secret")

    assert plaintext[0] == 5, plaintext  # the documented exit code of an unreachable service
    assert "cannot reach the scheduler" in plaintext[1]
    assert over_tls[0] == 0, over_tls
    assert over_tls[1].splitlines()[-1] == "secret"


async def submit(env: dict[str, str], text: str) -> tuple[int, str]:
    """`taskflow submit --type echo <text>`: exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "taskflow.cli", "submit", "--type", "echo", text,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_redis_over_tls_is_checked_against_the_configured_ca(
    redis_server: BundledRedis, redis_url: str, pki: Pki
) -> None:
    identity = pki.ca.issue("redis", names=["IP:127.0.0.1"])
    async with tls_terminator(redis_server.port, identity) as port:
        url = f"rediss://127.0.0.1:{port}/0"
        trusting = Settings(REDIS_URL=url, TASKFLOW_REDIS_TLS_CA_FILE=pki.ca.cert)
        async with connected(trusting, url) as client:
            store = TaskStore(client, StoreConfig())
            created = await store.create(NewTask("echo", "over rediss"))
            assert (await store.get(created.task_id)).content == "over rediss"
        async with connected(Settings(REDIS_URL=url), url) as client:
            with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.ping()
