"""What one upstream serves, asked of its gRPC server reflection: the names of its
services and the file descriptors (with their imports) that define them."""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf import descriptor_pb2
from grpc import aio
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

# Services every server has that carry no API of ours.
PLUMBING_SERVICES = frozenset({"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"})


class ReflectionError(Exception):
    """The upstream answered reflection with an error."""


async def reflect(
    channel: aio.Channel, *, deadline_s: float, metadata: tuple[tuple[str, str], ...] = ()
) -> tuple[list[str], dict[str, descriptor_pb2.FileDescriptorProto]]:
    """The upstream's API services, and every file they need, by file name."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    call = stub.ServerReflectionInfo(timeout=deadline_s, metadata=metadata)
    try:
        listed = await _ask(call, reflection_pb2.ServerReflectionRequest(list_services=""))
        services = [
            s.name for s in listed.list_services_response.service if s.name not in PLUMBING_SERVICES
        ]
        files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        for name in services:
            request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=name)
            _collect(await _ask(call, request), files)
        for missing in _missing_imports(files):
            request = reflection_pb2.ServerReflectionRequest(file_by_filename=missing)
            _collect(await _ask(call, request), files)
    finally:
        call.cancel()  # the answers are in; nothing more to say or hear
    return services, files


async def _ask(
    call: aio.StreamStreamCall[
        reflection_pb2.ServerReflectionRequest, reflection_pb2.ServerReflectionResponse
    ],
    request: reflection_pb2.ServerReflectionRequest,
) -> reflection_pb2.ServerReflectionResponse:
    await call.write(request)
    reply = await call.read()
    if not isinstance(reply, reflection_pb2.ServerReflectionResponse):
        raise ReflectionError("the reflection stream ended early")
    if reply.HasField("error_response"):
        raise ReflectionError(reply.error_response.error_message)
    return reply


def _collect(
    reply: reflection_pb2.ServerReflectionResponse,
    files: dict[str, descriptor_pb2.FileDescriptorProto],
) -> None:
    for raw in reply.file_descriptor_response.file_descriptor_proto:
        proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
        files.setdefault(proto.name, proto)


def _missing_imports(files: dict[str, descriptor_pb2.FileDescriptorProto]) -> Iterator[str]:
    """Imports not fetched yet, until there are none (the caller adds as it goes)."""
    asked: set[str] = set()
    while True:
        missing = sorted({dep for f in files.values() for dep in f.dependency} - set(files) - asked)
        if not missing:
            return
        for name in missing:
            asked.add(name)
            yield name
