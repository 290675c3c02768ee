"""A pdfxtract upload received in chunks (CreatePdfxtractTaskStream).

The first message names the upload and its size, the others carry the file's bytes
in order. The size is checked first and as each chunk arrives, so an oversized file
is refused before the rest of it is held. Nothing is written until the stream has
ended with exactly the bytes announced: grpc ends a client stream whose client went
away as if it had finished, so the count is what tells a whole upload from one cut
short, and the latter leaves no trace in Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from taskflow.errors import InvalidInput, TooLarge
from taskflow.v1 import scheduler_service_pb2 as pb


@dataclass(frozen=True)
class ReceivedUpload:
    upload: pb.PdfxtractUpload
    pdf: bytes


async def receive(
    messages: AsyncIterator[pb.CreatePdfxtractTaskStreamRequest], max_bytes: int
) -> ReceivedUpload:
    """The upload's fields and the file, assembled once the client closed its side."""
    upload: pb.PdfxtractUpload | None = None
    chunks: list[bytes] = []
    size = 0
    async for message in messages:
        part = message.WhichOneof("part")
        if part == "upload":
            if upload is not None:
                raise InvalidInput("the upload's fields came twice; send them first, once")
            upload = message.upload
            _check_announced(upload.size, max_bytes)
        elif part == "chunk":
            if upload is None:
                raise InvalidInput("the first message must carry the upload's fields")
            size += len(message.chunk)
            if size > upload.size:
                raise InvalidInput(f"the chunks carry more than the {upload.size} bytes announced")
            chunks.append(message.chunk)
        else:
            raise InvalidInput("a message carries neither the upload's fields nor a chunk")
    if upload is None:
        raise InvalidInput("the stream ended before the upload's fields")
    if size < upload.size:
        raise InvalidInput(
            f"the upload ended after {size} of the {upload.size} bytes announced; nothing stored"
        )
    pdf = b"".join(chunks)
    chunks.clear()
    return ReceivedUpload(upload, pdf)


def _check_announced(size: int, max_bytes: int) -> None:
    if size < 0:
        raise InvalidInput("size must not be negative")
    if size > max_bytes:
        raise TooLarge(f"file is {size} bytes; the limit is {max_bytes}")
