"""google.api.http path templates, as the transcoder matches them."""

from __future__ import annotations

import pytest

from services.gateway.transcoder.templates import TemplateError, parse


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/api/v1/tasks/{task_id}", "/api/v1/tasks/abc", {"task_id": "abc"}),
        ("/api/v1/tasks/{task_id}", "/api/v1/tasks/a/b", None),
        ("/api/v1/tasks/", "/api/v1/tasks/", {}),
        ("/api/v1/tasks/", "/api/v1/tasks", None),
        ("/v1/{name=projects/*}", "/v1/projects/p1", {"name": "projects/p1"}),
        ("/v1/{name=projects/*}", "/v1/shelves/p1", None),
        ("/v1/{name=projects/*/tasks/*}", "/v1/projects/p/tasks/t", {"name": "projects/p/tasks/t"}),
        ("/v1/{path=**}", "/v1/a/b/c", {"path": "a/b/c"}),
        ("/v1/*/{id}", "/v1/x/7", {"id": "7"}),
        ("/v1/tasks/{task.task_id}:cancel", "/v1/tasks/t1:cancel", {"task.task_id": "t1"}),
        ("/v1/tasks/{task_id}:cancel", "/v1/tasks/t1", None),
        ("/v1/a.b/{id}", "/v1/aXb/1", None),
    ],
)
def test_matching(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert parse(template).match(path) == expected


@pytest.mark.parametrize(
    ("template", "openapi_path"),
    [
        ("/api/v1/tasks/{task_id}/retry", "/api/v1/tasks/{task_id}/retry"),
        ("/v1/{name=projects/*}:cancel", "/v1/{name}:cancel"),
    ],
)
def test_openapi_form(template: str, openapi_path: str) -> None:
    assert parse(template).openapi_path == openapi_path


@pytest.mark.parametrize(
    "template", ["v1/tasks", "/v1/{a{b}}", "/v1/{id", "/v1/x{id}", "/v1/{9bad}"]
)
def test_malformed_templates_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        parse(template)
