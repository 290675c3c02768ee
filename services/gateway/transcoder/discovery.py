"""The catalog of the running upstreams, asked of their server reflection.

Why reflection rather than only the descriptors compiled into the gateway: the
upstream's own answer is the truth of what it serves, so an RPC (or a whole
service) added to a scheduler is served over REST as soon as the gateway starts
against it, with no gateway change or rebuild. The compiled taskflow.v1
descriptors are the starting point (`known`): the gateway's routes exist from the
first request, and an upstream that is down answers 503 like a hand-kept route,
not 404. At start-up each upstream is asked once (a few seconds at most); one that
does not answer is asked again in the background until it does, and its answer
then replaces the compiled view. Every upstream is then asked again now and then
(`refresh_every_s`), so an upgraded scheduler's new RPCs are served without a
gateway restart; the catalog is rebuilt only when an answer differs.
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
REFRESH_EVERY_S = 30.0
Metadata = tuple[tuple[str, str], ...]


class Discovery:
    """Holds the current catalog (its `version` counts rebuilds); `start` asks every
    upstream, `close` stops asking."""

    def __init__(
        self,
        metadata: Metadata = (),
        known: Mapping[str, list[str]] | None = None,
        refresh_every_s: float = REFRESH_EVERY_S,
    ) -> None:
        """`known`: upstream -> the services the gateway's compiled stubs say it serves;
        `refresh_every_s`: how often an upstream that answered is asked again."""
        self.known = dict(known or {})
        self.refresh_every_s = refresh_every_s
        self.channels: dict[str, aio.Channel] = {}
        self.metadata = metadata
        self.catalog = catalog.Catalog(pool=descriptor_pool.DescriptorPool(), bindings=[])
        self.version = 0
        self._services: dict[str, list[str]] = {}
        self._files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        self._retrying: asyncio.Task[None] | None = None
        self._refreshing: asyncio.Task[None] | None = None

    async def start(self, channels: Mapping[str, aio.Channel]) -> None:
        """Ask each upstream (name -> channel, in the order that settles a service
        served by two) once; keep asking those that did not answer, in the background."""
        self.channels = dict(channels)
        for name, services in self.known.items():
            if name in self.channels:
                self._services[name] = services
                self._files.update(compiled_files(services))
        pending = await self._ask(list(self.channels))
        if pending:
            self._retrying = asyncio.create_task(self._retry(pending))
        self._refreshing = asyncio.create_task(self._refresh())

    async def close(self) -> None:
        for task in (self._retrying, self._refreshing):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _refresh(self) -> None:
        """Ask every upstream again; an upstream that does not answer keeps the view
        it last gave (it may be restarting), and is asked again next time."""
        while True:
            await asyncio.sleep(self.refresh_every_s)
            await self._ask(list(self.channels), only_if_changed=True)

    async def _retry(self, pending: list[str]) -> None:
        while pending:
            await asyncio.sleep(RETRY_EVERY_S)
            pending = await self._ask(pending)

    async def _ask(self, upstreams: list[str], *, only_if_changed: bool = False) -> list[str]:
        """Ask each upstream; rebuild the catalog (unless `only_if_changed` and no
        answer differs from what is known); the upstreams still to ask."""
        answers = await asyncio.gather(*(self._reflect(name) for name in upstreams))
        failed, changed = [], False
        for name, answer in zip(upstreams, answers, strict=True):
            if answer is None:
                failed.append(name)
                continue
            services, files = answer
            changed = changed or self._services.get(name) != services
            changed = changed or any(self._files.get(k) != v for k, v in files.items())
            self._services[name] = services
            self._files.update(files)
        if only_if_changed and not changed:
            return failed
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


def compiled_files(services: list[str]) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """The files defining `services` in the gateway's own descriptor pool, with their
    imports."""
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    pool = descriptor_pool.Default()
    pending = [pool.FindServiceByName(name).file for name in services]
    while pending:
        file = pending.pop()
        if file.name not in files:
            files[file.name] = descriptor_pb2.FileDescriptorProto.FromString(file.serialized_pb)
            pending.extend(file.dependencies)
    return files
