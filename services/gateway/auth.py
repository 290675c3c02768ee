"""Optional bearer-token auth on /api/v1, and the credentials passed on to gRPC.

With TASKFLOW_API_TOKEN set, every /api/v1 request needs `Authorization: Bearer
<token>`; the two SSE routes also take `?token=`, since a browser's EventSource
cannot set headers. The check runs before the body is read, so a refused upload
costs nothing. `/metrics` needs the token too (Prometheus scrapes with a bearer
token) unless TASKFLOW_METRICS_PUBLIC opens it. The token then rides on each gRPC
call as `authorization` metadata, where the services check it again; a token gRPC
metadata cannot carry (not printable ASCII) is never forwarded.
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.security import HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.clients import Metadata, bearer_metadata
from services.gateway.errors import detail

API_PREFIX = "/api/v1"
METRICS_PATH = "/metrics"
# Every route that answers text/event-stream, and only those: where `?token=` is
# taken (docs/operations.md; a test checks this against /openapi.json).
SSE_PATH = re.compile(r"^/api/v1/(queues/status/stream|tasks/[^/]+/events)$")
# Declares the scheme in /openapi.json (the "Authorize" button of /docs).
bearer_scheme = HTTPBearer(auto_error=False, description="TASKFLOW_API_TOKEN, when it is set")


def presented_token(scope: Scope) -> str | None:
    """The token a request carries: the bearer header, or `?token=` on an SSE route."""
    header = Headers(scope=scope).get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if SSE_PATH.match(scope.get("path", "")):
        query: bytes = scope.get("query_string", b"")
        if tokens := parse_qs(query.decode("latin-1")).get("token"):
            return str(tokens[0])
    return None


class BearerAuthMiddleware:
    """Answers 401 for an /api/v1 request without the right token."""

    def __init__(self, app: ASGIApp, token: str, *, metrics_public: bool = False) -> None:
        self.app = app
        self.expected = token.encode()
        self.metrics_public = metrics_public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guards(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        given = (presented_token(scope) or "").encode()
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        response = detail(401, "Missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    def _guards(self, path: str) -> bool:
        if path == METRICS_PATH:
            return not self.metrics_public
        return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def forwarded_metadata(request: Request) -> Metadata:
    """What the gRPC services get: the caller's token (checked above when one is
    configured; passed on as given otherwise, for the services to judge). A token
    that is not printable ASCII cannot be gRPC metadata: it is dropped, and a service
    that wants a token answers UNAUTHENTICATED."""
    token = presented_token(request.scope)
    if token is not None and not (token.isascii() and token.isprintable()):
        token = None
    return bearer_metadata(token)
