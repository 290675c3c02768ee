"""A grpc.aio server with what every AsyncTaskFlow service has: standard health
checking, server reflection, the auth and error interceptors, graceful stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from taskflow.rpc.interceptors import DomainErrorInterceptor, TokenAuthInterceptor

log = logging.getLogger(__name__)

Servicer = TypeVar("Servicer")
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a 50 MB PDF plus its envelope


class ServiceServer:
    """Owns one aio server; `add` servicers, `start`, then `stop` on shutdown."""

    def __init__(
        self,
        address: str,
        *,
        api_token: str | None = None,
        credentials: grpc.ServerCredentials | None = None,
    ) -> None:
        interceptors: list[aio.ServerInterceptor[Any, Any]] = [DomainErrorInterceptor()]
        if api_token:
            interceptors.insert(0, TokenAuthInterceptor(api_token))
        self.server = aio.server(
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        # Credentials (taskflow.rpc.tls) make it TLS only: no plaintext port beside it.
        if credentials is None:
            self.port = self.server.add_insecure_port(address)
        else:
            self.port = self.server.add_secure_port(address, credentials)
        if self.port == 0:
            raise OSError(f"cannot listen on {address}")
        self.address = f"{address.rsplit(':', 1)[0]}:{self.port}"
        self.health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._service_names: list[str] = []

    def add(
        self, register: Callable[[Servicer, aio.Server], None], servicer: Servicer, name: str
    ) -> None:
        """Register a servicer (`register` is the generated add_*_to_server)."""
        register(servicer, self.server)
        self._service_names.append(name)

    async def start(self) -> None:
        names: Iterable[str] = (*self._service_names, reflection.SERVICE_NAME, health.SERVICE_NAME)
        reflection.enable_server_reflection(names, self.server)
        await self.server.start()
        serving = health_pb2.HealthCheckResponse.SERVING
        for name in ("", *self._service_names):
            await self.health.set(name, serving)
        log.info(
            "event=grpc_listening address=%s services=%s",
            self.address,
            ",".join(self._service_names),
        )

    async def stop(self, grace_s: float = 5.0) -> None:
        """Report NOT_SERVING, then let in-flight calls finish within `grace_s`."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_s)


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop` (the process then shuts down gracefully)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
