"""The whole system on loopback for end-to-end tests: scheduler, executor and monitor
in-process on free ports, and the gateway served by uvicorn over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from grpc import aio
from redis.asyncio import Redis

from services.executor.app import serve as serve_executor
from services.gateway.app import create_app
from services.monitor.app import running_monitor
from services.scheduler.app import running_scheduler
from taskflow.redis_server import free_port
from taskflow.settings import Settings
from tests.support.stack import settings_for
from tests.support.waiting import eventually, until_every_worker_paused

STARTUP_TIMEOUT_S = 60.0  # a loaded machine starts slowly


@dataclass
class GatewayStack:
    settings: Settings
    base_url: str
    http: httpx.AsyncClient


@contextlib.asynccontextmanager
async def running_gateway(settings: Settings, *, hand_kept: bool = True) -> AsyncIterator[str]:
    """The gateway app under uvicorn on a free loopback port; yields its base URL."""
    config = uvicorn.Config(
        create_app(settings, hand_kept=hand_kept),
        log_level="warning",
        timeout_graceful_shutdown=1,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        sock.close()


@contextlib.asynccontextmanager
async def running_executor(settings: Settings, client: Redis) -> AsyncIterator[None]:
    stop = asyncio.Event()
    running = asyncio.create_task(serve_executor(settings, client, stop))
    try:
        async with aio.insecure_channel(settings.executor_address) as channel:
            await asyncio.wait_for(channel.channel_ready(), STARTUP_TIMEOUT_S)
        yield
    finally:
        stop.set()
        await running


@contextlib.asynccontextmanager
async def gateway_stack(
    redis_url: str, client: Redis, *, executor: bool = True, **overrides: Any
) -> AsyncIterator[GatewayStack]:
    """Every service against the test's Redis (without `executor`, no executor and
    so no worker at all); `overrides` are Settings aliases (e.g. TASKFLOW_API_TOKEN)."""
    base = settings_for(
        redis_url, TASKFLOW_EXECUTOR_ADDRESS=f"127.0.0.1:{free_port()}", **overrides
    )
    async with (
        running_scheduler(base, client) as scheduler,
        running_monitor(base, client) as monitor,
    ):
        settings = base.model_copy(
            update={"scheduler_address": scheduler.address, "monitor_address": monitor.address}
        )
        async with contextlib.AsyncExitStack() as stack:
            if executor:
                await stack.enter_async_context(running_executor(settings, client))
            base_url = await stack.enter_async_context(running_gateway(settings))
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, timeout=10.0)
            )
            yield GatewayStack(settings, base_url, http)


async def create_task(
    http: httpx.AsyncClient, task_type: str, content: str = "", **fields: Any
) -> str:
    """POST /api/v1/tasks; the new task's id."""
    reply = await http.post(
        "/api/v1/tasks", json={"task_type": task_type, "content": content, **fields}
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["task_id"])


async def wait_for_state(
    http: httpx.AsyncClient, task_id: str, state: str, *, within: float = 60.0
) -> dict[str, Any]:
    """The task once GET /api/v1/tasks/{id} shows it in `state`."""
    task: dict[str, Any] = {}

    async def reached() -> bool:
        nonlocal task
        task = (await http.get(f"/api/v1/tasks/{task_id}")).json()
        return task.get("state") == state

    await eventually(reached, within=within, what=f"task {task_id} in {state}")
    return task


@contextlib.asynccontextmanager
async def paused_executors(http: httpx.AsyncClient, redis_url: str) -> AsyncIterator[None]:
    """No task is claimed inside the block (POST /api/v1/executors/pause, then resume).

    The block starts once every worker says it follows the flag (`redis_url`: the
    stack's Redis, where workers beat)."""
    assert (await http.post("/api/v1/executors/pause")).json() == {"paused": True}
    client = Redis.from_url(redis_url)
    try:
        await until_every_worker_paused(client)
    finally:
        await client.aclose()
    try:
        yield
    finally:
        assert (await http.post("/api/v1/executors/resume")).json() == {"paused": False}
