"""Server interceptors: bearer-token auth, and domain errors mapped to status codes.

Request bytes that do not decode as the method's request message are the caller's
mistake: INVALID_ARGUMENT with one short log line, for every service (grpc would
otherwise answer UNKNOWN and log a traceback per call).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import DecodeError
from grpc import aio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from taskflow.errors import TaskflowError
from taskflow.rpc.status import status_for

log = logging.getLogger(__name__)
# Trailing metadata naming the domain error, for edges that need finer mapping
# than the status code (the gateway answers TooLarge with 413, not 422).
ERROR_KIND_KEY = "taskflow-error-kind"
# Health checks and reflection stay open so probes and tools work without a token.
OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
# Status details ride in an HTTP/2 header: whatever a message says, this much at most.
MAX_DETAILS_CHARS = 1000
UNDECODABLE = "the request is not a valid {} message"
if TYPE_CHECKING:
    # grpc's runtime classes are not generic; only the stubs (grpc-stubs) are.
    Handler = grpc.RpcMethodHandler[Any, Any]
    ServerInterceptor = aio.ServerInterceptor[Any, Any]
else:
    ServerInterceptor = aio.ServerInterceptor


async def _abort_for(error: BaseException, context: aio.ServicerContext[Any, Any]) -> None:
    if isinstance(error, TaskflowError):
        context.set_trailing_metadata(((ERROR_KIND_KEY, type(error).__name__),))
        await context.abort(status_for(error), bounded(str(error)))
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        log.warning("event=redis_unavailable error=%r", str(error))
        await context.abort(grpc.StatusCode.UNAVAILABLE, "the task store (Redis) is unreachable")
    log.exception("event=unhandled_error", exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error (see the service log)")


def bounded(details: str) -> str:
    if len(details) <= MAX_DETAILS_CHARS:
        return details
    return details[:MAX_DETAILS_CHARS] + "..."


class Undecodable:
    """What the request deserializer hands on instead of raising: grpc would log a
    traceback and answer UNKNOWN. The wrapped behaviour answers INVALID_ARGUMENT."""

    def __init__(self, message: str) -> None:
        self.message = message


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None
    message = getattr(getattr(deserializer, "__self__", None), "__name__", "request")

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except (DecodeError, ValueError, RuntimeError):
            return Undecodable(message)

    return deserialize


async def _refuse_undecodable(request: Undecodable, context: aio.ServicerContext[Any, Any]) -> None:
    log.info("event=undecodable_request message=%s", request.message)
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, UNDECODABLE.format(request.message))


def _wrap_unary(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapped(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        if isinstance(request, Undecodable):
            await _refuse_undecodable(request, context)
        try:
            return await behavior(request, context)
        except (aio.AbortError, grpc.RpcError):
            raise
        except Exception as error:
            await _abort_for(error, context)

    return wrapped


def _wrap_stream(behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def wrapped(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        if isinstance(request, Undecodable):
            await _refuse_undecodable(request, context)
        try:
            async for item in behavior(request, context):
                yield item
        except (aio.AbortError, grpc.RpcError):
            raise
        except Exception as error:
            await _abort_for(error, context)

    return wrapped


def _wrap_client_stream(
    behavior: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    """A client-streaming method: each message is checked as it is read (an
    undecodable one ends the call with INVALID_ARGUMENT), errors mapped as above."""

    async def wrapped(requests: AsyncIterator[Any], context: aio.ServicerContext[Any, Any]) -> Any:
        async def checked() -> AsyncIterator[Any]:
            async for request in requests:
                if isinstance(request, Undecodable):
                    await _refuse_undecodable(request, context)
                yield request

        try:
            return await behavior(checked(), context)
        except (aio.AbortError, grpc.RpcError):
            raise
        except Exception as error:
            await _abort_for(error, context)

    return wrapped


class DomainErrorInterceptor(ServerInterceptor):
    """Turns domain errors into status codes; anything unexpected into INTERNAL,
    logged here and never leaked to the client.

    Each method's wrapped handler is built once and reused while the server hands
    out the same handler for it (grpc asks the interceptor on every call)."""

    def __init__(self) -> None:
        self._wrapped = WrappedHandlers(_wrapped)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return self._wrapped.of(handler_call_details.method, handler)


class WrappedHandlers:
    """Each method's handler as `wrap` makes it, built once and reused while the
    server hands out the same handler for the method (grpc asks an interceptor on
    every call). The error interceptors of both kinds of server keep one."""

    def __init__(self, wrap: Callable[[Handler], Handler]) -> None:
        self._wrap = wrap
        self._by_method: dict[str, tuple[Handler, Handler]] = {}

    def of(self, method: str, handler: Handler) -> Handler:
        known = self._by_method.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self._wrap(handler)
        self._by_method[method] = (handler, wrapped)
        return wrapped


def _wrapped(handler: Handler) -> Handler:
    """`handler` with its behaviour wrapped as DomainErrorInterceptor says."""
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary(handler.unary_unary),
            request_deserializer=tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            _wrap_stream(handler.unary_stream),  # type: ignore[arg-type]  # aio streams are async
            request_deserializer=tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            _wrap_client_stream(handler.stream_unary),
            request_deserializer=tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(
            _wrap_stream(handler.stream_stream),  # type: ignore[arg-type]  # aio streams are async
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


class TokenAuthInterceptor(ServerInterceptor):
    """Requires `authorization: Bearer <token>` metadata on every taskflow RPC."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        if allowed(handler_call_details, self._expected):
            return await continuation(handler_call_details)
        return _deny_handler()


def allowed(handler_call_details: grpc.HandlerCallDetails, expected: bytes) -> bool:
    """An open method (health, reflection), or one called with the `expected`
    authorization metadata."""
    method = handler_call_details.method or ""
    if method.startswith(OPEN_PREFIXES):
        return True
    metadata = dict(handler_call_details.invocation_metadata or ())
    given = str(metadata.get("authorization", "")).encode()
    return hmac.compare_digest(given, expected)


def _deny_handler() -> Handler:
    """Answers UNAUTHENTICATED before reading anything; a unary handler serves every
    method kind here, since the call ends with the status alone."""

    async def deny(request: Any, context: aio.ServicerContext[Any, Any]) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    return grpc.unary_unary_rpc_method_handler(deny)
