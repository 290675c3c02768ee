"""What every client command shares: running a coroutine against the services,
turning failures into one short line and an exit code scripts can rely on, and
printing gRPC answers as tables or JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import Annotated, Any, NoReturn, TypeVar

import grpc
import typer
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from rich.console import Console

from taskflow.client import Clients, connect
from taskflow.settings import Settings
from taskflow.v1 import enums_pb2

T = TypeVar("T")

console = Console(stderr=True, highlight=False)
out = Console(highlight=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class Exit(IntEnum):
    """The exit codes of `taskflow` (listed in the README)."""

    OK = 0
    TASK_FAILED = 1
    BAD_INPUT = 2
    NOT_FOUND = 3
    CONFLICT = 4
    UNREACHABLE = 5
    REFUSED = 6
    ERROR = 7


CODE_EXITS = {
    grpc.StatusCode.INVALID_ARGUMENT: Exit.BAD_INPUT,
    grpc.StatusCode.OUT_OF_RANGE: Exit.BAD_INPUT,
    grpc.StatusCode.NOT_FOUND: Exit.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION: Exit.CONFLICT,
    grpc.StatusCode.ALREADY_EXISTS: Exit.CONFLICT,
    grpc.StatusCode.ABORTED: Exit.CONFLICT,
    grpc.StatusCode.UNAVAILABLE: Exit.UNREACHABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: Exit.UNREACHABLE,
    grpc.StatusCode.UNAUTHENTICATED: Exit.REFUSED,
    grpc.StatusCode.PERMISSION_DENIED: Exit.REFUSED,
}


def run(command: Callable[[Clients], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run `command` with clients of the services; any failure ends the process
    with one line on stderr and its exit code. Ctrl-C ends it quietly."""
    settings = settings or Settings()

    async def connected() -> T:
        async with connect(settings) as clients:
            return await command(clients)

    try:
        return asyncio.run(connected())
    except grpc.aio.AioRpcError as error:
        fail(rpc_error_message(error, settings), CODE_EXITS.get(error.code(), Exit.ERROR))
    except OSError as error:
        fail(f"cannot read {error.filename}: {error.strerror}", Exit.BAD_INPUT)
    except KeyboardInterrupt:
        raise typer.Exit(Exit.OK) from None


def fail(message: str, code: Exit) -> NoReturn:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def rpc_error_message(error: grpc.aio.AioRpcError, settings: Settings) -> str:
    details = error.details() or ""
    if error.code() is grpc.StatusCode.UNAVAILABLE:
        for name, address in _addresses(settings).items():
            if address.rsplit(":", 1)[-1] in details and "connect" in details.lower():
                return (
                    f"cannot reach the {name} at {address}. Is AsyncTaskFlow running? "
                    f"Start it with `taskflow up`, or set TASKFLOW_{name.upper()}_ADDRESS "
                    "to where it listens."
                )
    if error.code() is grpc.StatusCode.UNAUTHENTICATED:
        return f"{details} (set TASKFLOW_API_TOKEN to the services' token)"
    return f"{error.code().name}: {details}"


def _addresses(settings: Settings) -> dict[str, str]:
    return {
        "scheduler": settings.scheduler_address,
        "executor": settings.executor_address,
        "monitor": settings.monitor_address,
    }


def as_dict(message: Message) -> dict[str, Any]:
    """A message in its proto3 JSON form, field names as in the .proto, zeros kept."""
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def print_json(value: Message | dict[str, Any]) -> None:
    data = as_dict(value) if isinstance(value, Message) else value
    sys.stdout.write(json.dumps(data, sort_keys=True) + "\n")
    sys.stdout.flush()


def state_name(state: enums_pb2.TaskState.ValueType) -> str:
    return enums_pb2.TaskState.Name(state).removeprefix("TASK_STATE_")


def parse_state(name: str | None) -> enums_pb2.TaskState.ValueType:
    """A state as typed on the command line (`dlq`, `DLQ`); UNSPECIFIED for none."""
    if not name:
        return enums_pb2.TASK_STATE_UNSPECIFIED
    try:
        return enums_pb2.TaskState.Value(f"TASK_STATE_{name.upper()}")
    except ValueError:
        states = ", ".join(n.removeprefix("TASK_STATE_") for n in enums_pb2.TaskState.keys()[1:])
        fail(f"no state {name!r}; one of {states}", Exit.BAD_INPUT)
