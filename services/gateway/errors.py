"""gRPC status -> HTTP status and `{"detail": ...}`: the one table of the gateway.

The services name the domain error in trailing metadata (`taskflow-error-kind`)
where the status code alone is too coarse (TooLarge is INVALID_ARGUMENT, but 413
over HTTP). Nothing unexpected ever reaches a client with its text.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from grpc import aio

from services.gateway.clients import UnreadableReply
from services.gateway.shapes import map_leaves
from taskflow.rpc.interceptors import ERROR_KIND_KEY

log = logging.getLogger(__name__)

Code = grpc.StatusCode
# Codes whose details are the service's own words for the client (a domain error).
HTTP_STATUS: Mapping[grpc.StatusCode, int] = {
    Code.NOT_FOUND: 404,
    Code.INVALID_ARGUMENT: 422,
    Code.FAILED_PRECONDITION: 409,
    Code.ALREADY_EXISTS: 409,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.UNAUTHENTICATED: 401,
    Code.PERMISSION_DENIED: 403,
}
# Codes that say something about the plumbing: a fixed message, never the details.
PLUMBING: Mapping[grpc.StatusCode, tuple[int, str]] = {
    Code.UNAVAILABLE: (503, "A backend service is unavailable; try again shortly"),
    Code.DEADLINE_EXCEEDED: (504, "A backend service did not answer in time"),
}
HTTP_STATUS_FOR_KIND: Mapping[str, int] = {"TooLarge": 413}
BAD_GATEWAY = (502, "A backend service failed; see the gateway and service logs")
UNREADABLE = (502, "A backend service sent a reply the gateway could not decode; see its log")
INTERNAL = "Internal server error"
# Every error status an /api/v1 call may answer, for /openapi.json (services.gateway.openapi).
API_ERRORS: Mapping[int, str] = {
    401: "Missing or invalid bearer token (when TASKFLOW_API_TOKEN is set)",
    403: "The service refused the caller",
    404: "Not found",
    409: "The resource's state does not allow this",
    429: "A service is out of a resource; try again later",
    502: BAD_GATEWAY[1],
    503: "A backend service is unavailable, or the gateway is busy; try again shortly",
    504: PLUMBING[Code.DEADLINE_EXCEEDED][1],
}
BODY_ERRORS: Mapping[int, str] = {
    400: "The body could not be parsed",
    413: "The body or a field in it is over its size limit",
}
NOT_UNICODE = "text in the request is not valid Unicode (a lone surrogate such as \\ud800)"


def error_kind(error: aio.AioRpcError) -> str:
    metadata: Any = error.trailing_metadata()  # an aio.Metadata: (key, value) pairs
    for key, value in metadata or ():
        if key == ERROR_KIND_KEY:
            return str(value)
    return ""


def http_error(
    error: aio.AioRpcError, overrides: Mapping[grpc.StatusCode, int] | None = None
) -> tuple[int, str]:
    """The HTTP status and detail for a failed call; `overrides` adjust the table for
    one route (pdfxtract answers 400 for a file that is not a PDF)."""
    code = error.code()
    if kind_status := HTTP_STATUS_FOR_KIND.get(error_kind(error)):
        return kind_status, error.details() or ""
    if overrides and code in overrides:
        return overrides[code], error.details() or ""
    if code in HTTP_STATUS:
        return HTTP_STATUS[code], error.details() or ""
    if code in PLUMBING:
        log.warning("event=backend_unreachable code=%s details=%r", code.name, error.details())
        return PLUMBING[code]
    log.error("event=backend_error code=%s details=%r", code.name, error.details())
    return BAD_GATEWAY


def detail(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


class GrpcHTTPError(Exception):
    """A failed gRPC call with a route's overrides of the table, raised by a route."""

    def __init__(self, error: aio.AioRpcError, overrides: Mapping[grpc.StatusCode, int]) -> None:
        super().__init__(error.details())
        self.error = error
        self.overrides = overrides


async def _on_rpc_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, aio.AioRpcError)
    return detail(*http_error(error))


async def _on_overridden_rpc_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, GrpcHTTPError)
    return detail(*http_error(error.error, error.overrides))


async def _on_invalid_request(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422, same shape, except that the input it echoes may hold a number
    JSON cannot (Python's parser accepts NaN): that is spelled as a string, where the
    default handler would fail to encode its own answer."""
    assert isinstance(error, RequestValidationError)
    errors = map_leaves(jsonable_encoder(error.errors()), _spelled_if_not_finite)
    return JSONResponse({"detail": errors}, status_code=422)


def _spelled_if_not_finite(value: Any) -> Any:
    return str(value) if isinstance(value, float) and not math.isfinite(value) else value


async def _on_unencodable_text(request: Request, error: Exception) -> JSONResponse:
    """JSON may escape half a surrogate pair ("\\ud800"), which Python's parser keeps
    but no UTF-8 encoder takes: the gRPC request cannot be built. The gateway only
    encodes text it was sent, so this is the client's input, whichever field it was."""
    log.info("event=unencodable_text path=%s error=%r", request.url.path, str(error))
    return detail(422, NOT_UNICODE)


async def _on_unreadable_reply(request: Request, error: Exception) -> JSONResponse:
    log.error("event=unreadable_reply path=%s request=%s", request.url.path, error)
    return detail(*UNREADABLE)


async def _on_unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("event=unhandled_error path=%s", request.url.path, exc_info=error)
    return detail(500, INTERNAL)


def install(app: FastAPI) -> None:
    """Register the handlers; FastAPI's own HTTPException handler stays."""
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
    app.add_exception_handler(UnicodeEncodeError, _on_unencodable_text)
    app.add_exception_handler(UnreadableReply, _on_unreadable_reply)
    app.add_exception_handler(aio.AioRpcError, _on_rpc_error)
    app.add_exception_handler(GrpcHTTPError, _on_overridden_rpc_error)
    app.add_exception_handler(Exception, _on_unexpected)
