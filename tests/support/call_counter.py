"""Counting the gRPC calls that actually leave a client channel, for tests that
assert how many calls something made (batched creates, shared watches)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from grpc import aio


class CallCounter:
    """Calls by method, e.g. `count("SchedulerService/CreateTask")`."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def seen(self, details: Any) -> None:
        method = details.method
        self.calls[method.decode() if isinstance(method, bytes) else method] += 1

    def count(self, service_method: str) -> int:
        return self.calls[f"/taskflow.v1.{service_method}"]


# grpc.aio files each interceptor under one kind of call only, hence one per kind.
# Generic in the stubs only: not subscriptable at run time.
class _CountUnary(aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    def __init__(self, counter: CallCounter) -> None:
        self.counter = counter

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        self.counter.seen(details)
        return await continuation(details, request)


class _CountStreams(aio.UnaryStreamClientInterceptor):  # type: ignore[type-arg]
    def __init__(self, counter: CallCounter) -> None:
        self.counter = counter

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        self.counter.seen(details)
        return await continuation(details, request)


@contextlib.asynccontextmanager
async def counted_channel(address: str) -> AsyncIterator[tuple[aio.Channel, CallCounter]]:
    """A plaintext channel to `address` whose unary and streaming calls are counted."""
    counter = CallCounter()
    # The stubs ask for a cast.
    interceptors = [
        cast(aio.ClientInterceptor, kind(counter)) for kind in (_CountUnary, _CountStreams)
    ]
    async with aio.insecure_channel(address, interceptors=interceptors) as channel:
        yield channel, counter
