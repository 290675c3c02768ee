"""The `taskflow` command: run the whole system or one service; submit, inspect and
control tasks, queues and workers over gRPC. One module per command group."""

from __future__ import annotations

import typer

from taskflow.cli import (
    control,
    dlq,
    events,
    health,
    limits,
    logs,
    provider,
    queues,
    schedules,
    series,
    status,
    submit,
    submit_many,
    system,
    tasks,
    tasks_bulk,
    types,
)

app = typer.Typer(help="AsyncTaskFlow: distributed task processing.", no_args_is_help=True)
for command in (
    system.up,
    system.all_in_one,
    system.scheduler,
    system.executor,
    system.monitor,
    system.gateway,
    submit.submit,
    submit_many.submit_many,
    status.status,
    status.workers,
    limits.limits,
    control.pause,
    control.resume,
    health.health,
    provider.provider,
    series.series,
    events.events,
    logs.logs,
    types.types,
    system.reset,
    system.version,
):
    app.command()(command)
tasks.app.command()(tasks_bulk.cleanup)
tasks.app.command("requeue-orphaned")(tasks_bulk.requeue_orphaned)
app.add_typer(tasks.app, name="tasks")
app.add_typer(schedules.app, name="schedules")
app.add_typer(queues.app, name="queues")
app.add_typer(dlq.app, name="dlq")
app.add_typer(health.breakers, name="breakers")


def main() -> None:
    app()
