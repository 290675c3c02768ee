"""ServiceServer's thread-based twin: a sync grpc server (a thread pool) with the same
health checking, reflection, auth and error interceptors, message limits, TLS and
graceful stop, driven from asyncio code like ServiceServer.

Why a service would use it: grpc.aio spends more CPU per unary call (its poller
thread wakes the event loop for each step of a call) than the sync server's
threads do, which a lone call pays in full (issue 19: the sequential create;
docs/performance.md, "Unary creates on a thread-based server").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent import futures
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from taskflow.rpc.server import MAX_MESSAGE_BYTES
from taskflow.rpc.threaded_interceptors import (
    ThreadedErrorInterceptor,
    ThreadedTokenAuthInterceptor,
)

log = logging.getLogger(__name__)

Servicer = TypeVar("Servicer")
# Calls served at once; more wait in grpc's queue. A call that waits on the
# service's event loop (or a streamed upload) holds its thread meanwhile.
MAX_THREADS = 64


class ThreadedServiceServer:
    """Owns one sync grpc server; `add` servicers, `start`, then `stop` on shutdown."""

    def __init__(
        self,
        address: str,
        *,
        api_token: str | None = None,
        credentials: grpc.ServerCredentials | None = None,
        max_threads: int = MAX_THREADS,
    ) -> None:
        interceptors: list[grpc.ServerInterceptor[Any, Any]] = [ThreadedErrorInterceptor()]
        if api_token:
            interceptors.insert(0, ThreadedTokenAuthInterceptor(api_token))
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="grpc"),
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        if credentials is None:
            self.port = self.server.add_insecure_port(address)
        else:
            self.port = self.server.add_secure_port(address, credentials)
        if self.port == 0:
            raise OSError(f"cannot listen on {address}")
        self.address = f"{address.rsplit(':', 1)[0]}:{self.port}"
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._service_names: list[str] = []

    def add(
        self, register: Callable[[Servicer, grpc.Server], None], servicer: Servicer, name: str
    ) -> None:
        """Register a servicer whose methods are plain (sync) callables."""
        register(servicer, self.server)
        self._service_names.append(name)

    async def start(self) -> None:
        names: Iterable[str] = (*self._service_names, reflection.SERVICE_NAME, health.SERVICE_NAME)
        reflection.enable_server_reflection(names, self.server)
        self.server.start()
        serving = health_pb2.HealthCheckResponse.SERVING
        for name in ("", *self._service_names):
            self.health.set(name, serving)
        log.info(
            "event=grpc_listening address=%s services=%s threads=yes",
            self.address,
            ",".join(self._service_names),
        )

    async def stop(self, grace_s: float = 5.0) -> None:
        """Report NOT_SERVING, then let in-flight calls finish within `grace_s`;
        the event loop keeps running meanwhile (calls may be waiting on it)."""
        self.health.enter_graceful_shutdown()
        stopped = self.server.stop(grace_s)
        await asyncio.to_thread(stopped.wait)
