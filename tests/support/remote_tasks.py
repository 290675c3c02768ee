"""Tasks through the public gRPC API of running services, as an outside client sees
them (taskflow.client, the CLI's client): create, read states, wait, retrying while a
service answers UNAVAILABLE (its Redis is failing over or out of reach)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TypeVar

import grpc

from taskflow.client import Clients
from taskflow.v1 import enums_pb2, scheduler_service_pb2, task_pb2

T = TypeVar("T")
COMPLETED = enums_pb2.TASK_STATE_COMPLETED
ACTIVE = enums_pb2.TASK_STATE_ACTIVE
CALL_TIMEOUT_S = 5.0


async def patiently(call: Callable[[], Awaitable[T]], *, within: float = 30.0) -> T:
    """`call()`, again after a pause while it fails with UNAVAILABLE or a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            retryable = error.code() in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
            )
            if not retryable or loop.time() > deadline:
                raise
        await asyncio.sleep(0.2)


async def create(
    clients: Clients, task_type: str, content: str, metadata: Mapping[str, str] | None = None
) -> str:
    request = scheduler_service_pb2.CreateTaskRequest(task_type=task_type, content=content)
    request.metadata.update(dict(metadata or {}))
    reply = await clients.scheduler.CreateTask(
        request, metadata=clients.metadata, timeout=CALL_TIMEOUT_S
    )
    return str(reply.task_id)


async def get(clients: Clients, task_id: str) -> task_pb2.Task:
    request = scheduler_service_pb2.GetTaskRequest(task_id=task_id)
    reply = await clients.scheduler.GetTask(
        request, metadata=clients.metadata, timeout=CALL_TIMEOUT_S
    )
    return reply.task


async def states(clients: Clients, ids: Iterable[str]) -> Counter[int]:
    tasks = await asyncio.gather(*(get(clients, task_id) for task_id in ids))
    return Counter(task.state for task in tasks)


async def wait_until(check: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    """Poll `check` (retrying through UNAVAILABLE) until true; fail after `within` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await patiently(check, within=max(deadline - loop.time(), 0.0)):
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.1)


async def all_completed(clients: Clients, ids: list[str], *, within: float) -> None:
    async def done() -> bool:
        return (await states(clients, ids))[COMPLETED] == len(ids)

    await wait_until(done, within=within, what=f"all {len(ids)} tasks completed")
