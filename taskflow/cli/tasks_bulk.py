"""`taskflow tasks cleanup` and `tasks requeue-orphaned`: the maintenance actions of the
dashboard's Tasks Cleanup page (CleanupTasks, RequeueOrphanedTasks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from taskflow.cli.common import Exit, console, fail, parse_state, run
from taskflow.client import Clients
from taskflow.v1 import scheduler_service_pb2
from taskflow.when import parse_delay


def cleanup(
    state: Annotated[
        list[str] | None,
        typer.Option("--status", "--state", help="Delete tasks in this state (repeatable)."),
    ] = None,
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="Only tasks created this long ago or more: 1h, 7d."),
    ] = None,
) -> None:
    """Delete tasks by state and/or age (at least one of --status, --older-than),
    with their results and payloads."""
    if not state and older_than is None:
        fail("give --status and/or --older-than; refusing to delete everything", Exit.BAD_INPUT)
    states = [parse_state(name) for name in state or []]
    request = scheduler_service_pb2.CleanupTasksRequest(states=states)
    if older_than is not None:
        try:
            age = parse_delay(older_than)
        except ValueError as error:
            fail(f"--older-than: {error}", Exit.BAD_INPUT)
        request.created_before.FromDatetime(datetime.now(UTC) - age)

    async def command(clients: Clients) -> None:
        answer = await clients.scheduler.CleanupTasks(request, metadata=clients.metadata)
        console.print(f"Deleted {answer.deleted}: {answer.message}")

    run(command)


def requeue_orphaned() -> None:
    """Put PENDING tasks that sit in no queue back in one."""

    async def command(clients: Clients) -> None:
        request = scheduler_service_pb2.RequeueOrphanedTasksRequest()
        answer = await clients.scheduler.RequeueOrphanedTasks(request, metadata=clients.metadata)
        console.print(f"Found {answer.found}, requeued {answer.requeued}: {answer.message}")
        for error in answer.errors:
            console.print(f"[red]error:[/red] {error}")
        if answer.errors:
            raise typer.Exit(Exit.ERROR)

    run(command)
