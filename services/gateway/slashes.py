"""Trailing-slash redirects (seed-compat 7): a 404 (or 405) whose path, with its trailing
slash added or removed, names a route answers 307 to that path instead, as the
original does (`/api/v1/workers` -> `/api/v1/workers/`). A 307 keeps the method.

Starlette redirects only when no route matched at all; the dashboard's catch-all
matches every path, so the gateway checks the other form itself against the API's
own routes (given at install: the app holds its routers as opaque wrappers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match


def other_form(path: str) -> str:
    return path.removesuffix("/") if path.endswith("/") else f"{path}/"


def _names_a_route(routes: Sequence[BaseRoute], request: Request, path: str) -> bool:
    scope = {**request.scope, "path": path}
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


def _handler(routes: Sequence[BaseRoute]) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        path = request.url.path
        # 405: the dashboard's GET catch-all matched the path but not the method.
        if error.status_code in (404, 405) and path != "/":
            target = other_form(path)
            if _names_a_route(routes, request, target):
                query = request.url.query
                # Relative, so it holds behind a proxy that rewrote the Host.
                location = f"{target}?{query}" if query else target
                return RedirectResponse(location, status_code=307)
        return await http_exception_handler(request, error)

    return on_http_error


def install(app: FastAPI, routers: Sequence[APIRouter], more: Sequence[BaseRoute] = ()) -> None:
    """Redirect to the other form of a path when one of `routers` (included with no
    extra prefix: their routes hold their full paths) or of the routes `more` (the
    transcoder's) serves it."""
    routes = [*(route for router in routers for route in router.routes), *more]
    app.add_exception_handler(HTTPException, _handler(routes))
