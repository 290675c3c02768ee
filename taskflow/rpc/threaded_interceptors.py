"""The auth and error interceptors of taskflow.rpc.interceptors for a thread-based
(sync) grpc server: the same open methods, token check, status codes, trailing
metadata, log lines and refusal of undecodable requests."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import grpc
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from taskflow.errors import TaskflowError
from taskflow.rpc.interceptors import (
    ERROR_KIND_KEY,
    UNDECODABLE,
    Undecodable,
    WrappedHandlers,
    allowed,
    bounded,
    tolerant,
)
from taskflow.rpc.status import status_for

log = logging.getLogger(__name__)
if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
    Context = grpc.ServicerContext
    ServerInterceptor = grpc.ServerInterceptor[Any, Any]
else:
    ServerInterceptor = grpc.ServerInterceptor


class _Refused(Exception):
    """A client-streamed message that does not decode (INVALID_ARGUMENT)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _abort_for(error: BaseException, context: Context) -> NoReturn:
    if isinstance(error, _Refused):
        _refuse(error.message, context)
    if isinstance(error, TaskflowError):
        context.set_trailing_metadata(((ERROR_KIND_KEY, type(error).__name__),))
        context.abort(status_for(error), bounded(str(error)))
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        log.warning("event=redis_unavailable error=%r", str(error))
        context.abort(grpc.StatusCode.UNAVAILABLE, "the task store (Redis) is unreachable")
    log.exception("event=unhandled_error", exc_info=error)
    context.abort(grpc.StatusCode.INTERNAL, "internal error (see the service log)")


def _refuse(message: str, context: Context) -> NoReturn:
    log.info("event=undecodable_request message=%s", message)
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, UNDECODABLE.format(message))


def _wrap_unary(behavior: Callable[[Any, Context], Any]) -> Callable[[Any, Context], Any]:
    def wrapped(request: Any, context: Context) -> Any:
        if isinstance(request, Undecodable):
            _refuse(request.message, context)
        try:
            return behavior(request, context)
        except grpc.RpcError:
            raise
        except Exception as error:
            _abort_for(error, context)

    return wrapped


def _wrap_client_stream(
    behavior: Callable[[Iterator[Any], Context], Any],
) -> Callable[[Iterator[Any], Context], Any]:
    def wrapped(requests: Iterator[Any], context: Context) -> Any:
        def checked() -> Iterator[Any]:
            for request in requests:
                if isinstance(request, Undecodable):
                    raise _Refused(request.message)
                yield request

        try:
            return behavior(checked(), context)
        except grpc.RpcError:
            raise
        except Exception as error:
            _abort_for(error, context)

    return wrapped


class ThreadedErrorInterceptor(ServerInterceptor):
    """DomainErrorInterceptor for unary and client-streaming methods of a sync server
    (a server-streaming method is handed on as it is: the scheduler has none)."""

    def __init__(self) -> None:
        self._wrapped = WrappedHandlers(_wrapped)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        return self._wrapped.of(handler_call_details.method, handler)


def _wrapped(handler: Handler) -> Handler:
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary(handler.unary_unary),
            request_deserializer=tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            _wrap_client_stream(handler.stream_unary),
            request_deserializer=tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
    return handler


class ThreadedTokenAuthInterceptor(ServerInterceptor):
    """TokenAuthInterceptor for a sync server."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        if allowed(handler_call_details, self._expected):
            return continuation(handler_call_details)
        return _DENY


def _deny(request: Any, context: Context) -> None:
    context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")


_DENY = grpc.unary_unary_rpc_method_handler(_deny)
