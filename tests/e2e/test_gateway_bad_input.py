"""Input no client should send still gets a clear 4xx, never a 500 or a misleading
status: odd header values, unknown fields in our own bodies, huge ids, unknown
breaker names."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import MODULE_LOOP

pytestmark = MODULE_LOOP
TASK_ID = "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11"
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
