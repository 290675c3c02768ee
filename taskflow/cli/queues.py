"""`taskflow queues`: depths of every queue; `queues pause NAME` and `queues resume
NAME` stop and restart claiming from one named queue (docs/state-machine.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from taskflow.cli.common import JsonOption, console, out, print_json, run
from taskflow.cli.status_view import named_queue_table, queue_table, state_table
from taskflow.client import Clients
from taskflow.v1 import executor_service_pb2, monitor_service_pb2, scheduler_service_pb2

app = typer.Typer(help="Queue depths; ids in a queue; pause and resume one named queue.")
QueueArgument = Annotated[str, typer.Argument(help='A queue name, e.g. "default" or "emails".')]


@app.callback(invoke_without_command=True)
def queues(ctx: typer.Context, json: JsonOption = False) -> None:
    """Queue depths (the original four, then each named queue) and task counts."""
    if ctx.invoked_subcommand is not None:
        return

    async def command(clients: Clients) -> None:
        request = monitor_service_pb2.GetQueueStatusRequest()
        answer = await clients.monitor.GetQueueStatus(request, metadata=clients.metadata)
        if json:
            print_json(answer)
        else:
            out.print(queue_table(answer), named_queue_table(answer), state_table(answer))

    run(command)


@app.command()
def pause(name: QueueArgument) -> None:
    """Stop every worker claiming tasks of queue NAME; running tasks finish."""
    changed = run(lambda clients: _set_paused(clients, name, paused=True))
    already = "" if changed else " (it was paused already)"
    console.print(f"Paused queue {name}{already}: nothing of it is claimed until resumed.")


@app.command()
def resume(name: QueueArgument) -> None:
    """Let the workers claim tasks of queue NAME again."""
    changed = run(lambda clients: _set_paused(clients, name, paused=False))
    console.print(f"Resumed queue {name}{'' if changed else ' (it was not paused)'}.")


@app.command()
def tasks(
    name: Annotated[str, typer.Argument(help="primary, retry, scheduled or dlq.")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Ids to show.")] = 100,
    json: JsonOption = False,
) -> None:
    """Ids in one of the four original queues (primary, retry, scheduled, dlq), in
    the order they are read: next to be claimed first."""

    async def command(clients: Clients) -> None:
        request = scheduler_service_pb2.ListQueueTasksRequest(queue_name=name, limit=limit)
        answer = await clients.scheduler.ListQueueTasks(request, metadata=clients.metadata)
        if json:
            print_json(answer)
        else:
            out.print("\n".join(answer.task_ids) or f"(queue {name} is empty)")

    run(command)


async def _set_paused(clients: Clients, name: str, *, paused: bool) -> bool:
    """Pause or resume queue `name`; whether that changed anything."""
    md = clients.metadata
    if paused:
        request = executor_service_pb2.PauseQueueRequest(name=name)
        return (await clients.executor.PauseQueue(request, metadata=md)).changed
    again = executor_service_pb2.ResumeQueueRequest(name=name)
    return (await clients.executor.ResumeQueue(again, metadata=md)).changed
