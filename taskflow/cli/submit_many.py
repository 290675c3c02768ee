"""`taskflow submit-many FILE`: create tasks from JSON Lines (one CreateTaskRequest per
line, in its proto3 JSON form) with BatchCreateTasks, a batch at a time, each batch
all or none; prints the ids in input order, progress on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from google.protobuf.json_format import ParseDict, ParseError

from taskflow.cli.common import Exit, console, fail, run
from taskflow.client import Clients
from taskflow.settings import Settings
from taskflow.v1 import scheduler_service_pb2


def submit_many(
    source: Annotated[
        str, typer.Argument(help='A JSON Lines file, or "-" for stdin.', metavar="FILE")
    ],
    batch_size: Annotated[
        int, typer.Option(min=1, max=1000, help="Tasks per BatchCreateTasks call.")
    ] = 100,
) -> None:
    """Create tasks from JSON Lines, e.g. {"task_type": "echo", "content": "hi",
    "metadata": {"k": 1}, "priority": 5, "delay": "30s"}; prints their ids in order."""
    requests = _read(source)
    if not requests:
        fail("no tasks in the input", Exit.BAD_INPUT)
    settings = Settings()
    done = 0

    async def command(clients: Clients) -> None:
        nonlocal done
        for start in range(0, len(requests), batch_size):
            batch = scheduler_service_pb2.BatchCreateTasksRequest(
                tasks=requests[start : start + batch_size]
            )
            answer = await clients.scheduler.BatchCreateTasks(batch, metadata=clients.metadata)
            sys.stdout.write("".join(f"{created.task_id}\n" for created in answer.tasks))
            sys.stdout.flush()
            done += len(answer.tasks)
            if len(requests) > batch_size:
                console.print(f"created {done} of {len(requests)}")

    try:
        run(command, settings)
    except typer.Exit as stopped:
        if done and stopped.exit_code != Exit.OK:
            console.print(f"the {done} tasks printed above were created; the rest were not")
        raise


def _read(source: str) -> list[scheduler_service_pb2.CreateTaskRequest]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as error:
        fail(f"cannot read {source}: {error.strerror}", Exit.BAD_INPUT)
    requests = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            requests.append(_parse(line))
        except (ParseError, ValueError) as error:
            fail(f"line {number}: {error}", Exit.BAD_INPUT)
    return requests


def _parse(line: str) -> scheduler_service_pb2.CreateTaskRequest:
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("each line must be a JSON object")
    return ParseDict(value, scheduler_service_pb2.CreateTaskRequest())
