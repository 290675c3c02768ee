"""What /openapi.json promises: every status an operation may answer, with its body.

FastAPI declares a route's success and its validation 422. The rest comes from the
gateway's one error table (services.gateway.errors): any /api/v1 call may be refused
by auth (401) or end in any status a gRPC error maps to, always as `{"detail": "..."}`;
a 422 is either FastAPI's list of validation problems or a service's own sentence.
Routes with a body may also be too large (413) or unparsable (400). Declared here
once for every operation, so routes added later are described the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from services.gateway.errors import API_ERRORS, BODY_ERRORS

Json = dict[str, Any]
API_PREFIX = "/api/v1"
ERROR_DETAIL = "ErrorDetail"
VALIDATION = "HTTPValidationError"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def error_detail_schema() -> Json:
    return {
        "title": ERROR_DETAIL,
        "type": "object",
        "properties": {"detail": {"type": "string", "title": "Detail"}},
        "required": ["detail"],
    }


def install(app: FastAPI) -> None:
    """Serve the completed schema at /openapi.json (built once, on first request)."""
    build: Callable[[], Json] = app.openapi

    def openapi() -> Json:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(schema: Json) -> Json:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR_DETAIL] = error_detail_schema()
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in operations.items():
            if method in METHODS:
                _declare(operation, has_body="requestBody" in operation, components=components)
    return schema


def _declare(operation: Json, *, has_body: bool, components: Json) -> None:
    responses: Json = operation.setdefault("responses", {})
    statuses = {**API_ERRORS, **(BODY_ERRORS if has_body else {})}
    for status, description in statuses.items():
        responses.setdefault(str(status), _error(description))
    detail = _ref(ERROR_DETAIL)
    body = {"anyOf": [_ref(VALIDATION), detail]} if VALIDATION in components else detail
    responses["422"] = {
        "description": "Invalid input: FastAPI's list of problems, or a service's sentence",
        "content": {"application/json": {"schema": body}},
    }


def _error(description: str) -> Json:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref(ERROR_DETAIL)}},
    }


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}
