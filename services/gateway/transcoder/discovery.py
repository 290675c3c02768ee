"""The catalog of the running upstreams, asked of their server reflection.

At start-up the gateway asks each upstream once (a few seconds at most); an
upstream that does not answer yet is asked again in the background until it does,
and its routes appear then. Until then its paths answer 404 like any unknown path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc import aio

from services.gateway.transcoder import catalog
from services.gateway.transcoder.reflection import ReflectionError, reflect

log = logging.getLogger(__name__)
REFLECTION_TIMEOUT_S = 5.0
RETRY_EVERY_S = 2.0
Metadata = tuple[tuple[str, str], ...]


class Discovery:
    """Holds the current catalog (its `version` counts rebuilds); `start` asks every
    upstream, `close` stops asking."""

    def __init__(self, metadata: Metadata = ()) -> None:
        self.channels: dict[str, aio.Channel] = {}
        self.metadata = metadata
        self.catalog = catalog.Catalog(pool=descriptor_pool.DescriptorPool(), bindings=[])
        self.version = 0
        self._services: dict[str, list[str]] = {}
        self._files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        self._retrying: asyncio.Task[None] | None = None

    async def start(self, channels: Mapping[str, aio.Channel]) -> None:
        """Ask each upstream (name -> channel, in the order that settles a service
        served by two) once; keep asking those that did not answer, in the background."""
        self.channels = dict(channels)
        pending = await self._ask(list(self.channels))
        if pending:
            self._retrying = asyncio.create_task(self._retry(pending))

    async def close(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            await asyncio.gather(self._retrying, return_exceptions=True)

    async def _retry(self, pending: list[str]) -> None:
        while pending:
            await asyncio.sleep(RETRY_EVERY_S)
            pending = await self._ask(pending)

    async def _ask(self, upstreams: list[str]) -> list[str]:
        """Ask each upstream; rebuild the catalog; the upstreams still to ask."""
        answers = await asyncio.gather(*(self._reflect(name) for name in upstreams))
        failed = []
        for name, answer in zip(upstreams, answers, strict=True):
            if answer is None:
                failed.append(name)
                continue
            services, files = answer
            self._services[name] = services
            for file_name, proto in files.items():
                self._files.setdefault(file_name, proto)
        ordered = {name: self._services[name] for name in self.channels if name in self._services}
        try:
            self.catalog = catalog.build(ordered, self._files)
        except (catalog.CatalogError, TypeError, KeyError) as error:
            log.error("event=transcoder_catalog_failed error=%r", error)
        else:
            self.version += 1
            log.info(
                "event=transcoder_routes count=%d upstreams=%s",
                len(self.catalog.bindings),
                ",".join(ordered),
            )
        return failed

    async def _reflect(
        self, name: str
    ) -> tuple[list[str], dict[str, descriptor_pb2.FileDescriptorProto]] | None:
        try:
            return await reflect(
                self.channels[name], deadline_s=REFLECTION_TIMEOUT_S, metadata=self.metadata
            )
        except (grpc.RpcError, ReflectionError) as error:
            log.warning("event=transcoder_reflection_failed upstream=%s error=%r", name, error)
            return None
