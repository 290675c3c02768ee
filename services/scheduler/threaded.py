"""SchedulerService's methods for the thread-based server (taskflow.rpc.threaded_server).

CreateTask and BatchCreateTasks of types registered here run in the calling thread
with a blocking Redis client (taskflow.store.sync_create): a lone create then pays
no event-loop turn at all (issue 19, the sequential create), and creates arriving
together share store calls (thread_coalescing.py, coalescing.py's rule). Every
other method, and every create this path does not serve, is the asyncio
servicer's own, run on the scheduler's event loop while the calling thread waits
for its answer:

- a type registered by a remote worker only (its queue is a Redis read away);
- a deployment without the plain client (`sync_twin` gives none: Cluster,
  Sentinel, TLS, replica acks), and a server that refused the call having run
  nothing (its function library not loaded: the asyncio store loads it).

The servicer's validation, metrics and replies are the same code on both paths.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from types import SimpleNamespace
from typing import Any

from services.scheduler.servicer import SchedulerServicer, create_reply
from services.scheduler.thread_coalescing import ThreadCoalescer
from taskflow.store.sync_create import NotLoaded, SyncCreator
from taskflow.tasks.registry import registered_names
from taskflow.v1 import scheduler_service_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["SchedulerService"]
NO_QUEUES: dict[str, str] = {}
_END = object()

Method = Callable[[Any, Any], Coroutine[Any, Any, Any]]


class ThreadedScheduler:
    def __init__(
        self,
        servicer: SchedulerServicer,
        creator: SyncCreator | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.servicer = servicer
        self.creator = creator
        self.loop = loop
        self.creates = None if creator is None else ThreadCoalescer(creator)

    def methods(self) -> Any:
        """Every SchedulerService method as a sync callable, for the generated
        add_SchedulerServiceServicer_to_server."""
        methods: dict[str, Callable[[Any, Any], Any]] = {}
        for method in SERVICE.methods:
            if method.server_streaming:  # a stream out would hold a thread per reader
                raise TypeError(f"{method.name}: no server-streaming method on threads")
            behaviour = getattr(self.servicer, method.name)
            if method.client_streaming:
                methods[method.name] = self._bridged_stream(behaviour)
            else:
                methods[method.name] = self._bridged(behaviour)
        methods["CreateTask"] = self.create_task
        methods["BatchCreateTasks"] = self.batch_create_tasks
        # Typed Any: the generated registration expects the servicer class.
        return SimpleNamespace(**methods)

    def _on_loop(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def _bridged(self, behaviour: Method) -> Callable[[Any, Any], Any]:
        def call(request: Any, context: Any) -> Any:
            return self._on_loop(behaviour(request, context))

        return call

    def _bridged_stream(self, behaviour: Method) -> Callable[[Iterator[Any], Any], Any]:
        def call(requests: Iterator[Any], context: Any) -> Any:
            return self._on_loop(behaviour(_read_in_threads(requests), context))

        return call

    def create_task(self, request: pb.CreateTaskRequest, context: Any) -> Any:
        if self.creates is None or request.task_type not in registered_names():
            return self._on_loop(self.servicer.CreateTask(request, context))
        new = self.servicer.new_task(request, NO_QUEUES)
        try:
            created = self.creates.create(new)
        except NotLoaded:
            return self._on_loop(self.servicer.CreateTask(request, context))
        if created.created:
            self.servicer.metrics.count_created_one(new.task_type)
        return create_reply(created)

    def batch_create_tasks(self, request: pb.BatchCreateTasksRequest, context: Any) -> Any:
        names = registered_names()
        if (
            self.creator is None
            or not request.tasks
            or not all(item.task_type in names for item in request.tasks)
        ):
            return self._on_loop(self.servicer.BatchCreateTasks(request, context))
        new_tasks = self.servicer.new_tasks(request, NO_QUEUES)
        try:
            created = self.creator.create_many(new_tasks)
        except NotLoaded:
            return self._on_loop(self.servicer.BatchCreateTasks(request, context))
        return self.servicer.batch_reply(new_tasks, created)


async def _read_in_threads(requests: Iterator[Any]) -> AsyncIterator[Any]:
    """A client stream's messages for the loop: each read blocks, in a thread."""
    while True:
        message = await asyncio.to_thread(next, requests, _END)
        if message is _END:
            return
        yield message
