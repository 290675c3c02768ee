"""Request body size limits (413), checked while the body is read.

A declared Content-Length over the limit is refused before reading anything; a
body that turns out longer (chunked uploads) is cut off as soon as it passes the
limit. The refusal is the usual `{"detail": ...}`.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.errors import detail

TOO_LARGE = "Content Too Large"


class BodyTooLarge(HTTPException):
    """Raised from `receive`; FastAPI passes HTTPExceptions from body parsing through."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=TOO_LARGE)


class BodyLimitMiddleware:
    """`default` bytes per request body; `per_path` raises it for given paths (uploads)."""

    def __init__(self, app: ASGIApp, default: int, per_path: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.per_path = dict(per_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await detail(413, TOO_LARGE)(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        await self.app(scope, receive_within_limit, send)
