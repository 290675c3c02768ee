"""CreatePdfxtractTaskStream: a PDF sent in chunks is stored exactly as sent; a stream
cut short, refused, or out of order stores nothing."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from redis.asyncio import Redis

from taskflow.rpc.interceptors import ERROR_KIND_KEY
from taskflow.store import TaskQuery, TaskStore
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.stack import SchedulerClient, scheduler, settings_for

NEWSPAPER = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "newspaper-sample.pdf"
LIMIT = 1_000_000
Message = pb.CreatePdfxtractTaskStreamRequest


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[SchedulerClient]:
    settings = settings_for(redis_url, TASKFLOW_MAX_PAYLOAD_BYTES=LIMIT)
    async with scheduler(settings, redis_client) as client:
        yield client


def upload(size: int, **fields: str) -> Message:
    return Message(upload=pb.PdfxtractUpload(size=size, **fields))


def pieces(data: bytes, size: int) -> list[Message]:
    return [Message(chunk=data[i : i + size]) for i in range(0, len(data), size)]


async def stream(*messages: Message) -> AsyncIterator[Message]:
    for message in messages:
        yield message


async def test_a_streamed_pdf_is_stored_exactly_as_sent(
    api: SchedulerClient, store: TaskStore
) -> None:
    pdf = NEWSPAPER.read_bytes()
    # Uneven chunks, one of them empty: the bytes, not the message boundaries, count.
    chunks = [*pieces(pdf[:70_001], 9_999), Message(chunk=b""), *pieces(pdf[70_001:], 65_536)]
    reply = await api.stub.CreatePdfxtractTaskStream(
        stream(
            upload(
                len(pdf),
                filename="paper.pdf",
                issue_date="2024-05-01",
                content_type="application/pdf",
            ),
            *chunks,
        )
    )
    assert (reply.state, reply.created) == (enums.TASK_STATE_PENDING, True)
    assert await store.payload(reply.task_id) == pdf
    task = await store.get(reply.task_id)
    assert task.task_type == "pdfxtract"
    assert task.metadata == {
        "filename": "paper.pdf",
        "issue_date": "2024-05-01",
        "file_size": len(pdf),
        "content_type": "application/pdf",
    }


async def test_the_idempotency_key_names_the_first_upload(
    api: SchedulerClient, store: TaskStore
) -> None:
    pdf = NEWSPAPER.read_bytes()
    first = await api.stub.CreatePdfxtractTaskStream(
        stream(upload(len(pdf), filename="a.pdf", idempotency_key="once"), *pieces(pdf, 100_000))
    )
    again = await api.stub.CreatePdfxtractTaskStream(
        stream(upload(len(pdf), filename="a.pdf", idempotency_key="once"), *pieces(pdf, 100_000))
    )
    assert again.task_id == first.task_id
    assert (first.created, again.created) == (True, False)


async def test_an_upload_cut_short_stores_nothing(
    api: SchedulerClient, redis_client: Redis, store: TaskStore
) -> None:
    pdf = NEWSPAPER.read_bytes()
    half_sent = asyncio.Event()

    async def half_then_hang() -> AsyncIterator[Message]:
        yield upload(len(pdf), filename="paper.pdf")
        for message in pieces(pdf[: len(pdf) // 2], 32_768):
            yield message
        half_sent.set()
        await asyncio.Event().wait()  # the client goes away before the end

    call = api.stub.CreatePdfxtractTaskStream(half_then_hang())
    await asyncio.wait_for(half_sent.wait(), 60)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    # The same server still takes a whole upload afterwards, and that is all it stored.
    whole = await api.stub.CreatePdfxtractTaskStream(
        stream(upload(len(pdf), filename="paper.pdf"), *pieces(pdf, 65_536))
    )
    listed = await store.list_tasks(TaskQuery(page_size=10))
    assert [t.task_id for t in listed.tasks] == [whole.task_id]
    assert await redis_client.keys("*payload*") == [store.keys.payload(whole.task_id).encode()]


async def test_a_file_over_the_limit_is_refused_as_its_chunks_arrive(
    api: SchedulerClient, redis_client: Redis
) -> None:
    chunk = Message(chunk=b"%PDF-" + os.urandom(65_531))
    past_the_limit = LIMIT // 65_536 + 2

    async def more_then_held_open() -> AsyncIterator[Message]:
        yield upload(LIMIT, filename="big.pdf")  # announces what it may, sends more
        for _ in range(past_the_limit):
            yield chunk
        # Then the stream stays open, sending nothing: only a server that counts the
        # bytes as they arrive answers. (A client still writing while the refusal
        # arrives may see the call end INTERNAL on its side, on a loaded machine.)
        await asyncio.Event().wait()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async with asyncio.timeout(60):  # no answer: the server waits for the end
            await api.stub.CreatePdfxtractTaskStream(more_then_held_open())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"more than the {LIMIT} bytes announced" in (refused.value.details() or "")
    assert await redis_client.dbsize() == 0


async def test_a_size_over_the_limit_is_refused_before_any_chunk(
    api: SchedulerClient, redis_client: Redis
) -> None:
    sent = 0

    async def announced_too_big() -> AsyncIterator[Message]:
        nonlocal sent
        yield upload(LIMIT + 1, filename="big.pdf")
        for _ in range(500):
            sent += 1
            yield Message(chunk=b"0" * 65_536)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await api.stub.CreatePdfxtractTaskStream(announced_too_big())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"the limit is {LIMIT}" in (refused.value.details() or "")
    trailing: list[tuple[str, str]] = list(refused.value.trailing_metadata() or ())  # type: ignore[arg-type]
    assert (ERROR_KIND_KEY, "TooLarge") in trailing
    assert sent < 250
    assert await redis_client.dbsize() == 0


@pytest.mark.parametrize(
    ("messages", "words"),
    [
        ((Message(chunk=b"%PDF-1.4"),), "first message must carry the upload's fields"),
        ((), "ended before the upload's fields"),
        ((upload(8, filename="a.pdf"), upload(8, filename="b.pdf")), "came twice"),
        ((upload(8, filename="a.pdf"), Message()), "neither"),
        ((upload(0, filename="a.pdf"),), "file is empty"),
        ((upload(-1, filename="a.pdf"),), "must not be negative"),
        ((upload(9, filename="a.pdf"), Message(chunk=b"%PDF-1.4")), "after 8 of the 9 bytes"),
        ((upload(7, filename="a.pdf"), Message(chunk=b"%PDF-1.4")), "more than the 7 bytes"),
        ((upload(10, filename="a.pdf"), Message(chunk=b"plain text")), "not a PDF"),
        (
            (upload(8, filename="a.pdf", content_type="text/plain"), Message(chunk=b"%PDF-1.4")),
            "must be application/pdf",
        ),
        (
            (upload(8, filename="a.pdf", issue_date="May 5"), Message(chunk=b"%PDF-1.4")),
            "ISO 8601",
        ),
    ],
    ids=[
        "chunk-first", "empty", "fields-twice", "empty-message", "no-bytes", "negative-size",
        "short", "long", "not-pdf", "content-type", "bad-date",
    ],
)  # fmt: skip
async def test_bad_streams_are_invalid_argument_and_store_nothing(
    api: SchedulerClient, redis_client: Redis, messages: tuple[Message, ...], words: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await api.stub.CreatePdfxtractTaskStream(stream(*messages))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in (refused.value.details() or "")
    assert await redis_client.dbsize() == 0


async def test_an_undecodable_message_is_invalid_argument_with_one_short_log_line(
    api: SchedulerClient, caplog: pytest.LogCaptureFixture
) -> None:
    raw = api.channel.stream_unary(
        "/taskflow.v1.SchedulerService/CreatePdfxtractTaskStream",
        request_serializer=None,
        response_deserializer=pb.CreatePdfxtractTaskStreamResponse.FromString,
    )

    async def garbage() -> AsyncIterator[bytes]:
        yield upload(8, filename="a.pdf").SerializeToString()
        yield b"\xff\xff\xff"

    with caplog.at_level(logging.INFO), pytest.raises(grpc.aio.AioRpcError) as refused:
        await raw(garbage())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid" in (refused.value.details() or "")
    assert len([r for r in caplog.records if "undecodable" in r.getMessage()]) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
