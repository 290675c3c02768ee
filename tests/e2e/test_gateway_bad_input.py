"""Input no client should send still gets a clear 4xx, never a 500 or a misleading
status: odd header values, unknown fields in our own bodies, huge ids, unknown
breaker names, more upload bytes than the gateway may hold (503)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import MODULE_LOOP
from tests.support.gateway_stack import GatewayStack, running_gateway

pytestmark = MODULE_LOOP
TASK_ID = "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11"
PDFXTRACT = "/api/v1/tasks/pdfxtract"
ODD_AUTHORIZATION = [
    "Bearer café".encode(),
    b"Bearer \xff\xfe",
    b"Bearer a\x7fb",
    "café".encode(),
]


@pytest.mark.parametrize("value", ODD_AUTHORIZATION)
async def test_an_authorization_header_grpc_cannot_carry_is_no_500(
    http: httpx.AsyncClient, value: bytes
) -> None:
    """With no token configured, the header would be forwarded as gRPC metadata,
    which only takes printable ASCII."""
    headers = {b"Authorization": value}
    for method, path in [
        ("GET", "/api/v1/queues/status"),
        ("GET", "/api/v1/tasks/"),
        ("GET", f"/api/v1/tasks/{TASK_ID}"),
        ("POST", "/api/v1/executors/resume"),
    ]:
        reply = await http.request(method, path, headers=headers)
        assert reply.status_code < 500, (method, path, reply.status_code, reply.text)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/tasks", {"task_type": "echo", "eta": "2030-01-01T00:00:00Z"}),
        ("/api/v1/tasks", {"task_type": "echo", "countdown": 60}),
        ("/api/v1/tasks", {"task_type": "echo", "expires": 3600}),
        ("/api/v1/tasks/batch", {"tasks": [{"task_type": "echo", "countdown": 60}]}),
        ("/api/v1/tasks/batch", {"tasks": [{"task_type": "echo"}], "atomic": True}),
        ("/api/v1/tasks/cleanup", {"states": ["COMPLETED"], "dry_run": True}),
        ("/api/v1/queues/dlq/retry-all", {"reset_retry_count": True, "limit": 5}),
    ],
)
async def test_our_own_bodies_refuse_unknown_fields(
    http: httpx.AsyncClient, path: str, body: dict[str, object]
) -> None:
    reply = await http.post(path, json=body)
    assert reply.status_code == 422, reply.text
    unknown = set(body) - {"task_type", "tasks", "states", "reset_retry_count"}
    unknown |= {k for t in body.get("tasks", []) for k in t if k != "task_type"}  # type: ignore[attr-defined]
    assert all(name in reply.text for name in unknown), reply.text
    listed = await http.get("/api/v1/tasks/")
    assert listed.json()["total_items"] == 0, "a refused body created a task"


async def test_the_originals_bodies_still_ignore_unknown_fields(http: httpx.AsyncClient) -> None:
    summarize = await http.post(
        "/api/v1/tasks/summarize/", json={"content": "Some text.", "priority": "high"}
    )
    assert summarize.status_code == 201, summarize.text
    for path in ("/api/v1/workers/reset-circuit-breaker", "/api/v1/workers/open-circuit-breaker"):
        reply = await http.post(path, json={"force": True})
        assert reply.status_code == 200, (path, reply.text)
    await http.post("/api/v1/workers/reset-circuit-breaker")


async def test_an_id_ending_in_a_newline_is_no_405(http: httpx.AsyncClient) -> None:
    """`/api/v1/tasks/%0A` is a (bad) task id, not the listing path /api/v1/tasks/
    asked with the wrong method (a regex `$` matches before a final newline)."""
    for method in ("DELETE", "POST"):
        path = "/api/v1/tasks/%0A" + ("/cancel" if method == "POST" else "")
        reply = await http.request(method, path)
        assert reply.status_code in (404, 422), (method, reply.status_code, reply.text)
        assert "detail" in reply.json()


async def test_breaker_admin_refuses_unknown_names(http: httpx.AsyncClient) -> None:
    """Each name used to create a Redis hash: a fuzz run left 13 junk breakers."""
    for path in ("/api/v1/workers/reset-circuit-breaker", "/api/v1/workers/open-circuit-breaker"):
        for name in ("no-such-service", "x" * 5000):
            reply = await http.post(path, json={"service": name})
            assert reply.status_code == 404, (path, reply.status_code, reply.text[:200])
            assert len(reply.json()["detail"]) < 300
    known = await http.post("/api/v1/workers/reset-circuit-breaker", json={"service": "openrouter"})
    assert known.status_code == 200
    every = (await http.post("/api/v1/workers/reset-circuit-breaker")).json()
    assert [result["service"] for result in every["results"]] == ["openrouter"]


async def test_a_huge_task_id_is_a_clear_4xx(http: httpx.AsyncClient) -> None:
    """A 17,000-character id once came back as a 429 `Stream removed`."""
    huge = "x" * 17_000
    for method in ("GET", "DELETE"):
        reply = await http.request(method, f"/api/v1/tasks/{huge}")
        assert reply.status_code == 422, (method, reply.status_code, reply.text[:200])
        detail = reply.json()["detail"]
        if isinstance(detail, str):  # the service's words (a transcoded route): bounded
            assert "17000 characters" in detail
        else:  # the gateway's validation list
            assert detail[0]["loc"] == ["path", "task_id"]
    reply = await http.post("/api/v1/tasks", json={"task_type": huge})
    assert reply.status_code == 422, reply.text[:200]
    assert "17000 characters" in reply.json()["detail"]


async def test_uploads_beyond_the_memory_budget_are_503_with_retry_after(
    stack: GatewayStack, redis_url: str
) -> None:
    """Each upload counts the chunks it may hold in flight (three copies of one, at
    most services.gateway.uploads.CHUNK_BYTES) against
    TASKFLOW_GATEWAY_UPLOAD_MEMORY_BYTES; one that does not fit is refused before it
    is read, and the budget comes back once an upload is answered, refused or not."""
    settings = stack.settings.model_copy(update={"gateway_upload_memory_bytes": 50_000})
    big = {"file": ("big.pdf", b"%PDF-" + b"0" * 40_000, "application/pdf")}
    small = {"file": ("small.pdf", b"%PDF-" + b"0" * 10_000, "application/pdf")}
    async with (
        running_gateway(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        for _ in range(3):
            refused = await http.post(PDFXTRACT, files=big)
            assert refused.status_code == 503, refused.text
            assert int(refused.headers["retry-after"]) > 0
            assert "uploads in flight" in refused.json()["detail"]
            accepted = await http.post(PDFXTRACT, files=small)
            assert accepted.status_code == 201, accepted.text
