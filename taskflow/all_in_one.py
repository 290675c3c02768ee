"""One process for a small deployment: the scheduler, the monitor, the executor and
the gateway in one asyncio event loop (`taskflow all-in-one`, `make run-one`).

They talk as they do apart: each gRPC server listens on its own address and the
gateway reaches them over loopback gRPC, so only the process boundary goes. What
that saves is memory: the interpreter, grpc, protobuf, redis-py, pydantic and
FastAPI are loaded once instead of four times (docs/performance.md). What it
costs: one event loop and one GIL for everything, so under load the services slow
each other down; a busy deployment runs them apart (`taskflow up`, compose, k8s).

Stopping (SIGTERM/SIGINT) stops the gateway first, so no new work comes in, then
the services together, each with its own graceful shutdown. One of them ending on
its own stops the others too, and the process exits non-zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Generator

import uvicorn
from redis.asyncio import Redis

from taskflow.redis_runtime import connected
from taskflow.rpc.server import stop_on_signals
from taskflow.service_process import Serve
from taskflow.settings import Settings

log = logging.getLogger(__name__)


class _GatewayServer(uvicorn.Server):
    """uvicorn without its own signal handlers: this process's stop event ends it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _services() -> dict[str, Serve]:
    # Imported here: taskflow's modules load without the services (the CLI's other
    # commands never need them).
    from services.executor.app import serve as executor
    from services.monitor.app import serve as monitor
    from services.scheduler.app import serve as scheduler

    return {"scheduler": scheduler, "monitor": monitor, "executor": executor}


def _gateway(settings: Settings) -> _GatewayServer:
    from services.gateway.__main__ import uvicorn_options
    from services.gateway.app import create_app

    return _GatewayServer(uvicorn.Config(create_app(settings), **uvicorn_options(settings)))


async def run_all_in_one(settings: Settings, url: str) -> None:
    """Serve everything until SIGTERM/SIGINT; SystemExit(1) when a part ended by itself."""
    from taskflow.gc_tuning import freeze_startup_heap

    stop = asyncio.Event()
    stop_on_signals(stop)
    async with connected(settings, url) as client:
        gateway = _gateway(settings)
        freeze_startup_heap()
        failed = await _serve_until_stopped(settings, client, gateway, stop)
    log.info("event=service_stopped service=all-in-one")
    if failed:
        raise SystemExit(1)


async def _serve_until_stopped(
    settings: Settings, client: Redis, gateway: _GatewayServer, stop: asyncio.Event
) -> bool:
    """True when a part ended before it was asked to."""
    services_stop = asyncio.Event()
    parts: dict[asyncio.Future[None], str] = {
        asyncio.ensure_future(serve(settings, client, services_stop)): name
        for name, serve in _services().items()
    }
    parts[asyncio.create_task(_serve_gateway(gateway), name="gateway")] = "gateway"
    stopping: asyncio.Future[None] = asyncio.ensure_future(_wait_set(stop))
    done, _ = await asyncio.wait([stopping, *parts], return_when=asyncio.FIRST_COMPLETED)
    failed = stopping not in done
    for task in done - {stopping}:
        error = None if task.cancelled() else task.exception()
        log.error("event=part_ended service=%s error=%r", parts[task], error)
    stopping.cancel()
    gateway.should_exit = True
    await asyncio.wait([task for task, name in parts.items() if name == "gateway"])
    services_stop.set()
    results = await asyncio.gather(*parts, return_exceptions=True)
    for task, result in zip(parts, results, strict=True):
        if isinstance(result, BaseException) and task not in done:
            log.error("event=part_failed_stopping service=%s error=%r", parts[task], result)
            failed = True
    return failed


async def _serve_gateway(gateway: _GatewayServer) -> None:
    """uvicorn ends with SystemExit when it cannot start (a port in use): here that is
    one part failing, so the others still stop gracefully, not an exit from the loop."""
    try:
        await gateway.serve()
    except SystemExit as exit_:
        raise RuntimeError(f"the gateway did not start (exit code {exit_.code})") from None


async def _wait_set(event: asyncio.Event) -> None:
    await event.wait()
