"""`taskflow dlq list|retry-all|purge`: the dead letter queue, as the dashboard's
Tasks Cleanup page shows it (ListDlqTasks, RetryAllDlqTasks, PurgeDlq)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from taskflow.cli.common import JsonOption, console, out, print_json, run
from taskflow.client import Clients
from taskflow.v1 import scheduler_service_pb2

app = typer.Typer(help="The dead letter queue: list, retry every task, purge.")


@app.command("list")
def list_dlq(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Tasks to show.")] = 100,
    json: JsonOption = False,
) -> None:
    """Tasks in the dead letter queue, with their last error."""

    async def command(clients: Clients) -> None:
        request = scheduler_service_pb2.ListDlqTasksRequest(limit=limit)
        answer = await clients.scheduler.ListDlqTasks(request, metadata=clients.metadata)
        if json:
            print_json(answer)
            return
        table = Table(title=f"In the DLQ (first {limit})", title_justify="left")
        for column in ("id", "type", "retries", "error type", "last error"):
            table.add_column(column, overflow="fold")
        for task in answer.tasks:
            table.add_row(
                task.task_id,
                task.task_type,
                f"{task.retry_count}/{task.max_retries}",
                task.error_type,
                task.last_error,
            )
        out.print(table)

    run(command)


@app.command("retry-all")
def retry_all(
    reset_retries: Annotated[
        bool, typer.Option("--reset-retries", help="Start each task's retry count from 0.")
    ] = False,
) -> None:
    """Put every DLQ task back in its queue."""

    async def command(clients: Clients) -> None:
        request = scheduler_service_pb2.RetryAllDlqTasksRequest(reset_retry_count=reset_retries)
        answer = await clients.scheduler.RetryAllDlqTasks(request, metadata=clients.metadata)
        console.print(f"Retried {answer.retried}: {answer.message}")

    run(command)


@app.command()
def purge(
    confirm: Annotated[bool, typer.Option("--confirm", help="Really delete them.")] = False,
) -> None:
    """Delete every task in the DLQ, with its result and payload."""
    if not confirm:
        console.print("This deletes every task in the DLQ. Run again with --confirm.")
        raise typer.Exit(1)

    async def command(clients: Clients) -> None:
        request = scheduler_service_pb2.PurgeDlqRequest()
        answer = await clients.scheduler.PurgeDlq(request, metadata=clients.metadata)
        console.print(f"Purged {answer.purged}: {answer.message}")

    run(command)
