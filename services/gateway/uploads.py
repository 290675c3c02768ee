"""PDF uploads with one copy of the file in gateway memory, within a shared budget.

The multipart parser spools an upload to a temporary file. Building the gRPC request
the usual way would then hold the file three times at once (the bytes read back, the
protobuf message, its serialised form). Instead the serialised request is written to
a second temporary file (the `pdf` field's header, the upload, the other fields:
protobuf concatenation is a merge) and read back in one piece, so the one copy in
memory is the request gRPC sends. gRPC's core copies those bytes once more into its
send buffer while the call is in flight, so each upload counts twice its request size
against the budget; an upload beyond it is refused with 503 and Retry-After.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from fastapi import HTTPException

from taskflow.v1 import scheduler_service_pb2 as pb

PDF_FIELD = pb.CreatePdfxtractTaskRequest.DESCRIPTOR.fields_by_name["pdf"].number
LENGTH_DELIMITED = 2
# gRPC holds a second copy of the request while sending it.
COPIES_IN_FLIGHT = 2
RETRY_AFTER_S = 5
COPY_CHUNK = 1024 * 1024
BUSY = "Too many uploads in flight; try again shortly"


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


def request_size(upload_size: int, fields: pb.CreatePdfxtractTaskRequest) -> int:
    return len(_pdf_header(upload_size)) + upload_size + fields.ByteSize()


def memory_needed(upload_size: int, fields: pb.CreatePdfxtractTaskRequest) -> int:
    return COPIES_IN_FLIGHT * request_size(upload_size, fields)


def serialized_request(
    upload: BinaryIO, upload_size: int, fields: pb.CreatePdfxtractTaskRequest
) -> bytes:
    """The wire form of CreatePdfxtractTaskRequest(pdf=<upload>, **fields), built on
    disk and read into memory once. `fields` must leave `pdf` empty."""
    with tempfile.TemporaryFile(buffering=0) as staging:  # unbuffered: read() sizes once
        staging.write(_pdf_header(upload_size))
        upload.seek(0)
        shutil.copyfileobj(upload, staging, COPY_CHUNK)
        staging.write(fields.SerializeToString())
        size = staging.tell()
        staging.seek(0)
        data = staging.read(size)
    if data is None or len(data) != size:
        raise OSError("the staged upload could not be read back whole")
    return data


def _pdf_header(size: int) -> bytes:
    return _varint(PDF_FIELD << 3 | LENGTH_DELIMITED) + _varint(size)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)
