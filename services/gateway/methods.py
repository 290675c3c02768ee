"""405 with an exact `Allow` for a known /api/v1 path asked with a method it lacks.

The router alone gets this wrong in three ways: a literal path also matches a
templated one (GET /api/v1/tasks/batch would reach GET /api/v1/tasks/{task_id} and
fail its id check), two routes on one path each list only their own methods in
`Allow`, and the dashboard's catch-all answers any other GET with its 404. The
methods of a path are read from /openapi.json, the list clients are given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.errors import detail

API_PREFIX = "/api/v1/"
METHODS = {"get", "put", "post", "delete", "patch"}
PARAMETER = re.compile(r"\{[^/}]+\}")
Paths = list[tuple[re.Pattern[str], bool, set[str]]]


class MethodNotAllowedMiddleware:
    """`openapi` gives the app's schema (built after every route is added)."""

    def __init__(self, app: ASGIApp, openapi: Callable[[], Mapping[str, Any]]) -> None:
        self.app = app
        self.openapi = openapi
        self.paths: Paths | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(API_PREFIX):
            if self.paths is None:
                self.paths = compile_paths(self.openapi())
            allowed = allowed_methods(self.paths, path)
            if allowed and scope["method"] not in allowed:
                headers = {"Allow": ", ".join(sorted(allowed))}
                await detail(405, "Method Not Allowed", headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def compile_paths(schema: Mapping[str, Any]) -> Paths:
    compiled: Paths = []
    for template, operations in schema.get("paths", {}).items():
        if not template.startswith(API_PREFIX):
            continue
        methods = {method.upper() for method in operations if method in METHODS}
        pattern = PARAMETER.sub(
            "[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
        )
        # fullmatch, not ^...$: `$` also matches before a final newline, so
        # /api/v1/tasks/%0A would count as the literal /api/v1/tasks/.
        compiled.append((re.compile(pattern), PARAMETER.search(template) is None, methods))
    return compiled


def allowed_methods(paths: Paths, path: str) -> set[str]:
    """The methods of the documented paths matching `path`; literal paths win over
    templated ones (`/tasks/batch` is not a task id)."""
    literal: set[str] = set()
    templated: set[str] = set()
    for pattern, is_literal, methods in paths:
        if pattern.fullmatch(path):
            (literal if is_literal else templated).update(methods)
    return literal or templated
