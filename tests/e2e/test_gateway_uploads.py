"""POST /api/v1/tasks/pdfxtract streams the upload to the scheduler chunk by chunk:
the task holds exactly the bytes uploaded, the gateway's memory budget counts the
chunks in flight rather than the file, and an upload cut short stores nothing."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest_asyncio
from redis.asyncio import Redis

from services.gateway.uploads import CHUNK_BYTES
from taskflow.redis_server import BundledRedis
from taskflow.store import TaskStore
from tests.e2e.conftest import MODULE_LOOP, SETTINGS
from tests.support.gateway_stack import GatewayStack, gateway_stack

pytestmark = MODULE_LOOP
PDFXTRACT = "/api/v1/tasks/pdfxtract"
# Room for a few MB of PDF, and a budget far below twice the file: the gateway
# that held a copy of the file per upload (and gRPC's second one) refused these.
BUDGET = 1024 * 1024
UPLOADS = {
    **SETTINGS,
    "TASKFLOW_MAX_PAYLOAD_BYTES": 8_000_000,
    "TASKFLOW_GATEWAY_MAX_BODY_BYTES": 10_000_000,
    "TASKFLOW_GATEWAY_UPLOAD_MEMORY_BYTES": BUDGET,
}
SIZE = 12 * CHUNK_BYTES + 12_345  # many chunks and a short last one


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(redis_server: BundledRedis) -> AsyncIterator[GatewayStack]:
    """No executor: the tasks stay as created, payload and all."""
    client = Redis.from_url(redis_server.url)
    try:
        async with gateway_stack(redis_server.url, client, executor=False, **UPLOADS) as running:
            yield running
    finally:
        await client.aclose()


@pytest_asyncio.fixture(loop_scope="module")
async def payloads(redis_url: str) -> AsyncIterator[TaskStore]:
    client = Redis.from_url(redis_url)
    yield TaskStore(client)
    await client.aclose()


def a_pdf(size: int) -> bytes:
    return b"%PDF-1.4\n" + os.urandom(size - 9)


async def test_a_streamed_upload_stores_exactly_the_bytes_uploaded(
    stack: GatewayStack, payloads: TaskStore
) -> None:
    pdf = a_pdf(SIZE)
    assert 2 * len(pdf) > BUDGET
    files = {"file": ("paper.pdf", pdf, "application/pdf")}
    reply = await stack.http.post(PDFXTRACT, files=files, data={"issue_date": "2024-05-01"})
    assert reply.status_code == 201, reply.text
    task_id = reply.json()["task_id"]
    assert await payloads.payload(task_id) == pdf
    task = (await stack.http.get(f"/api/v1/tasks/{task_id}")).json()
    assert task["metadata"] == {
        "filename": "paper.pdf",
        "issue_date": "2024-05-01",
        "file_size": len(pdf),
        "content_type": "application/pdf",
    }


async def test_uploads_one_after_another_each_fit_the_budget(
    stack: GatewayStack, redis_url: str
) -> None:
    """The budget comes back after each upload: ten files of 3 MB through 1 MiB."""
    for _ in range(10):
        reply = await stack.http.post(
            PDFXTRACT, files={"file": ("paper.pdf", a_pdf(SIZE), "application/pdf")}
        )
        assert reply.status_code == 201, reply.text
    assert (await stack.http.get("/api/v1/tasks/")).json()["total_items"] == 10


async def test_an_upload_cut_short_stores_nothing(stack: GatewayStack, redis_url: str) -> None:
    pdf = a_pdf(SIZE)
    body, content_type = multipart(pdf)
    url = urlsplit(stack.base_url)
    _, writer = await asyncio.open_connection(url.hostname, url.port)
    head = (
        f"POST {PDFXTRACT} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body[: len(body) // 2])
    await writer.drain()
    writer.close()  # the client goes away halfway through its body
    await writer.wait_closed()

    whole = await stack.http.post(PDFXTRACT, files={"file": ("paper.pdf", pdf, "application/pdf")})
    assert whole.status_code == 201, whole.text
    listed = (await stack.http.get("/api/v1/tasks/")).json()
    assert [t["task_id"] for t in listed["tasks"]] == [whole.json()["task_id"]]


def multipart(pdf: bytes) -> tuple[bytes, str]:
    """The body and content type httpx would send for a `file` field holding `pdf`."""
    request = httpx.Request(
        "POST", "http://x/", files={"file": ("paper.pdf", pdf, "application/pdf")}
    )
    return request.read(), request.headers["content-type"]
