"""PDF uploads streamed to the scheduler chunk by chunk, within a shared memory budget.

The multipart parser spools an upload to a temporary file. The route reads it back
CHUNK_BYTES at a time and sends each piece as one message of
CreatePdfxtractTaskStream, so the gateway never holds the file whole: per upload,
at most the chunk just read, its framed copy (the message's wire form, built here
rather than through a protobuf object) and the message gRPC is sending (a
client stream writes one message at a time). The budget counts those
COPIES_IN_FLIGHT chunks per upload in flight; an upload beyond it is refused with
503 and Retry-After.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

from fastapi import HTTPException, UploadFile

from taskflow.v1 import scheduler_service_pb2 as pb

CHUNK_BYTES = 256 * 1024
# The chunk read, its framed copy, and the one gRPC holds while sending.
COPIES_IN_FLIGHT = 3
# A chunk message's tag and length prefix.
FRAME_BYTES = 16
RETRY_AFTER_S = 5
BUSY = "Too many uploads in flight; try again shortly"
_CHUNK_FIELD = pb.CreatePdfxtractTaskStreamRequest.DESCRIPTOR.fields_by_name["chunk"].number
_LENGTH_DELIMITED = 2


class UploadBudget:
    """Bytes that uploads in flight may hold in gateway memory, shared by all requests
    of one app (the event loop is single-threaded: no lock needed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0

    @contextlib.contextmanager
    def reserve(self, size: int) -> Iterator[None]:
        """Holds `size` bytes of the budget for the block; 503 if they are not free."""
        if self.in_use + size > self.limit:
            raise HTTPException(503, BUSY, headers={"Retry-After": str(RETRY_AFTER_S)})
        self.in_use += size
        try:
            yield
        finally:
            self.in_use -= size


def memory_needed(upload_size: int, fields: pb.PdfxtractUpload) -> int:
    """What one upload of `upload_size` bytes holds at most while it streams."""
    chunk = min(upload_size, CHUNK_BYTES) + FRAME_BYTES
    return COPIES_IN_FLIGHT * max(chunk, fields.ByteSize())


async def messages(upload: UploadFile, fields: pb.PdfxtractUpload) -> AsyncIterator[bytes]:
    """CreatePdfxtractTaskStream's messages in wire form: the fields, then the chunks."""
    yield pb.CreatePdfxtractTaskStreamRequest(upload=fields).SerializeToString()
    await upload.seek(0)
    while chunk := await upload.read(CHUNK_BYTES):
        yield _chunk_header(len(chunk)) + chunk


def _chunk_header(size: int) -> bytes:
    return _varint(_CHUNK_FIELD << 3 | _LENGTH_DELIMITED) + _varint(size)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)
