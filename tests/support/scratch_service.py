"""A gRPC service the gateway was never built with: its proto is compiled when the
test runs, its servicer is generic handlers over classes made from the descriptors,
and its server reflection serves that proto, as every AsyncTaskFlow server does."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import grpc
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc import aio
from grpc_reflection.v1alpha import reflection
from grpc_tools import protoc

SERVICE = "scratch.v1.ScratchService"
PROTO = """syntax = "proto3";

package scratch.v1;

import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";

// A service the gateway was never told about.
service ScratchService {
  // Echoes what it was sent.
  rpc Echo(EchoRequest) returns (EchoResponse) {
    option (google.api.http) = {
      get: "/api/v1/scratch/{name=shelves/*}/echo"
      additional_bindings {
        post: "/api/v1/scratch/echo"
        body: "*"
      }
    };
  }
  // Counts from 1 to `upto`, one message each.
  rpc Count(CountRequest) returns (stream CountResponse) {
    option (google.api.http) = {get: "/api/v1/scratch/count/{upto}"};
  }
  // Puts a note on a shelf; the body is the note.
  rpc Annotate(AnnotateRequest) returns (EchoResponse) {
    option (google.api.http) = {
      post: "/api/v1/scratch/{name=shelves/*}:annotate"
      body: "note"
    };
  }
}

// A colour.
enum Colour {
  COLOUR_UNSPECIFIED = 0;
  COLOUR_RED = 1;
  COLOUR_BLUE = 2;
}

// A note.
message Note {
  // Its text.
  string text = 1;
}

// What Echo echoes.
message EchoRequest {
  // A shelf, shelves/<id>; shelves/missing is NOT_FOUND.
  string name = 1;
  // A number past 2^53.
  int64 big = 2;
  // A colour.
  Colour colour = 3;
  // Some tags.
  repeated string tags = 4;
  // A moment.
  google.protobuf.Timestamp when = 5;
  // A flag.
  bool loud = 6;
  // A nested message.
  Note note = 7;
}

// Echo's answer.
message EchoResponse {
  // The request as received.
  EchoRequest echoed = 1;
}

// Input of Count.
message CountRequest {
  // Where to stop.
  int32 upto = 1;
}

// One step of Count.
message CountResponse {
  // The number.
  int32 n = 1;
}

// Input of Annotate.
message AnnotateRequest {
  // A shelf.
  string name = 1;
  // The note.
  Note note = 2;
}
"""


# The same service, upgraded with one more RPC (the gateway must pick it up live).
UPGRADED_PROTO = PROTO.replace(
    "service ScratchService {\n",
    "service ScratchService {\n"
    "  // Answers with upto, as a liveness check of the upgrade.\n"
    "  rpc Ping(CountRequest) returns (CountResponse) {\n"
    '    option (google.api.http) = {get: "/api/v1/scratch/ping"};\n'
    "  }\n",
)


def compile_scratch(directory: Path, proto: str = PROTO) -> descriptor_pool.DescriptorPool:
    """The scratch proto and its imports, compiled by protoc into a fresh pool."""
    (directory / "scratch.proto").write_text(proto)
    googleapis = Path(annotations_pb2.__file__).parents[2]
    well_known = resources.files("grpc_tools") / "_proto"
    out = directory / "scratch.binpb"
    args = [
        "grpc_tools.protoc",
        f"--proto_path={directory}",
        f"--proto_path={well_known}",
        f"--proto_path={googleapis}",
        "--include_imports",
        f"--descriptor_set_out={out}",
        "scratch.proto",
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed on the scratch proto")
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        pool.Add(file)
    return pool


def _handlers(pool: descriptor_pool.DescriptorPool) -> grpc.GenericRpcHandler[Any, Any]:
    def cls(name: str) -> Any:
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"scratch.v1.{name}"))

    echo_request, echo_response = cls("EchoRequest"), cls("EchoResponse")
    count_request, count_response = cls("CountRequest"), cls("CountResponse")
    annotate_request = cls("AnnotateRequest")

    async def echo(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        if request.name == "shelves/missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no shelf {request.name}")
        return echo_response(echoed=request)

    async def count(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        for n in range(1, request.upto + 1):
            yield count_response(n=n)

    async def annotate(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        return echo_response(echoed=echo_request(name=request.name, note=request.note))

    async def ping(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        return count_response(n=request.upto)

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Echo": grpc.unary_unary_rpc_method_handler(
                echo, echo_request.FromString, echo_response.SerializeToString
            ),
            "Count": grpc.unary_stream_rpc_method_handler(
                count, count_request.FromString, count_response.SerializeToString
            ),
            "Annotate": grpc.unary_unary_rpc_method_handler(
                annotate, annotate_request.FromString, echo_response.SerializeToString
            ),
            # Served always; reflection tells of it only in the upgraded proto.
            "Ping": grpc.unary_unary_rpc_method_handler(
                ping, count_request.FromString, count_response.SerializeToString
            ),
        },
    )


@contextlib.asynccontextmanager
async def scratch_server(
    directory: Path, address: str = "127.0.0.1:0", proto: str = PROTO
) -> AsyncIterator[str]:
    """The scratch service with server reflection (on a free loopback port unless
    `address` names one); yields its address."""
    pool = compile_scratch(directory, proto)
    server = aio.server()
    server.add_generic_rpc_handlers((_handlers(pool),))
    reflection.enable_server_reflection((SERVICE, reflection.SERVICE_NAME), server, pool=pool)
    port = server.add_insecure_port(address)
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)
