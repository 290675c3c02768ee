"""The compose healthcheck commands work: run as written against a real gRPC server
(grpc.health.v1, as every service serves it) and a local HTTP server."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from taskflow.rpc.server import ServiceServer
from tests.deploy.files import GRPC_SERVICES, compose_document, port_of


async def run_healthcheck(test: list[str], address: str) -> int:
    """Exit code of a CMD healthcheck, with our interpreter and `address` in place of
    the container's loopback host:port."""
    assert test[0] == "CMD"
    command = [sys.executable if arg == "python" else arg for arg in test[1:]]
    command = [address if arg.startswith("127.0.0.1:") else arg for arg in command]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(process.wait(), timeout=60)


def healthcheck(service: str) -> list[str]:
    test: list[str] = compose_document()["services"][service]["healthcheck"]["test"]
    return test


@pytest.mark.parametrize("service", sorted(GRPC_SERVICES))
async def test_grpc_healthcheck_passes_only_while_serving(service: str) -> None:
    server = ServiceServer("127.0.0.1:0")
    await server.start()
    try:
        assert await run_healthcheck(healthcheck(service), server.address) == 0
        await server.health.enter_graceful_shutdown()
        assert await run_healthcheck(healthcheck(service), server.address) != 0
    finally:
        await server.stop(0)
    assert await run_healthcheck(healthcheck(service), server.address) != 0


class _Ready(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/ready" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def http_server(status: int) -> Iterator[str]:
    handler = type("Handler", (_Ready,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
async def test_gateway_healthcheck_follows_ready(status: int, healthy: bool) -> None:
    test = healthcheck("gateway")
    port = port_of(test[3].split("http://", 1)[1].split("/", 1)[0])
    with http_server(status) as address:
        patched = [*test[:3], test[3].replace(f"127.0.0.1:{port}", address)]
        assert (await run_healthcheck(patched, address) == 0) is healthy
