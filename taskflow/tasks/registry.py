"""Task types: a name, an async (or CPU-bound sync) handler, and input validation.

Built-in types register themselves exactly as a user's own would:

    from taskflow.tasks import TaskContext, task

    @task("resize_image", cpu_bound=True)
    def resize_image(ctx: TaskContext) -> str: ...

    @task("report", rate_limit="100/s", concurrency=2, concurrency_key="metadata.tenant")
    async def report(ctx: TaskContext) -> str: ...

The scheduler validates new tasks against the registry; the executor runs them.
Modules named in TASKFLOW_TASK_MODULES are imported at start by both.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable, Iterable, KeysView, Mapping
from dataclasses import dataclass, field
from typing import Any

from taskflow.errors import InvalidInput, quoted
from taskflow.limits import TypeLimits

Handler = Callable[["TaskContext"], Awaitable[str] | str]
Validator = Callable[[str, Mapping[str, Any], bytes], None]


class CancelSignal:
    """Set by the worker when a client cancels the running task (issue 17)."""

    __slots__ = ("handler_done", "interrupted", "requested")

    def __init__(self) -> None:
        self.requested = False  # a client asked to cancel the task
        self.interrupted = False  # the worker cancelled the handler's coroutine
        self.handler_done = False  # the handler returned or raised: too late to stop


@dataclass(frozen=True)
class TaskContext:
    """What a handler gets: the task's input, a way to read its binary payload, and
    whether a client cancelled it. An async handler is also cancelled at its next
    await (CancelledError: clean up in `finally`); a CPU-bound one should look at
    `cancelled` now and then and stop early."""

    task_id: str
    task_type: str
    content: str
    metadata: Mapping[str, Any]
    retry_count: int
    load_payload: Callable[[], Awaitable[bytes]]
    services: Mapping[str, Any] = field(default_factory=dict)
    cancel_signal: CancelSignal = field(default_factory=CancelSignal)
    # Where progress reports go (the executor's throttled writer); None: dropped.
    progress_sink: Callable[[float, str], None] | None = None
    # The task's own logger: its lines are kept with the task (so are those of any
    # logger used inside the handler while it runs under the executor).
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("taskflow.task"))

    async def payload(self) -> bytes:
        return await self.load_payload()

    def progress(self, fraction: float, message: str = "") -> None:
        """Report how far the task is: `fraction` in 0..1 and a short message. Call
        it as often as you like (from an async or a CPU-bound handler): the
        executor stores at most two reports a second, the latest winning."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("progress fraction must be between 0 and 1")
        if self.progress_sink is not None:
            self.progress_sink(fraction, message)

    def log(self, message: str, level: int = logging.INFO) -> None:
        """Log one line for this task (shorthand for `ctx.logger.log`)."""
        self.logger.log(level, message)

    @property
    def cancelled(self) -> bool:
        """True once a client has asked to cancel this task."""
        return self.cancel_signal.requested


@dataclass(frozen=True)
class TaskType:
    name: str
    handler: Handler
    cpu_bound: bool = False
    validate: Validator | None = None
    retention_s: int | None = None  # None: the global RETENTION_SECONDS
    queue: str = "default"  # the queue its tasks go to unless their creator names one
    limits: TypeLimits = field(default_factory=TypeLimits)  # rate, concurrency: cluster-wide


_REGISTRY: dict[str, TaskType] = {}
_BUILTIN_MODULES = ("taskflow.tasks.builtin",)


def task(
    name: str,
    *,
    cpu_bound: bool = False,
    validate: Validator | None = None,
    retention_s: int | None = None,
    queue: str = "default",
    rate_limit: str = "",
    concurrency: int = 0,
    concurrency_key: str = "",
) -> Callable[[Handler], Handler]:
    """Register `handler` as the task type `name` (decorator); `retention_s` keeps
    its tasks that long once terminal (None: RETENTION_SECONDS; 0: forever);
    `queue` is the named queue its tasks go to (docs/state-machine.md, Queues).
    `rate_limit` ("100/s", "10/m") caps how often its tasks start, `concurrency`
    how many run at once, per value of `concurrency_key` ("metadata.tenant") when
    given; both hold across every executor (docs/state-machine.md, "Limits")."""
    limits = TypeLimits(rate_limit, concurrency, concurrency_key)

    def register(handler: Handler) -> Handler:
        if name in _REGISTRY and _REGISTRY[name].handler is not handler:
            raise ValueError(f"task type {name!r} is already registered")
        _REGISTRY[name] = TaskType(name, handler, cpu_bound, validate, retention_s, queue, limits)
        return handler

    return register


def load_task_modules(modules: Iterable[str]) -> None:
    """Import the built-in types and the user's modules (which register on import)."""
    for module in (*_BUILTIN_MODULES, *modules):
        importlib.import_module(module)


def task_type(name: str) -> TaskType:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise InvalidInput(f"unknown task_type {quoted(name)} (registered: {known})") from None


def registered() -> list[str]:
    return sorted(_REGISTRY)


def registered_names() -> KeysView[str]:
    """The registered names, unsorted and uncopied (a lookup per create)."""
    return _REGISTRY.keys()


def registered_types() -> list[TaskType]:
    """Every registered type, by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def declared_limits() -> dict[str, TypeLimits]:
    """Every registered type's limits (the zero value for a type without any)."""
    return {name: kind.limits for name, kind in _REGISTRY.items()}


def rate_limited(name: str) -> bool:
    """Does the registered type `name` declare a rate limit (False if unknown)?"""
    kind = _REGISTRY.get(name)
    return kind is not None and bool(kind.limits.rate)
