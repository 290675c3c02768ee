"""`taskflow schedules ...`: recurring schedules from the command line, over gRPC."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from taskflow.cli.common import print_json, run
from taskflow.client import Clients
from taskflow.v1 import enums_pb2, schedule_pb2
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.when import parse_delay

app = typer.Typer(
    help="Recurring schedules: list, show, create, update, pause, resume, trigger, delete.",
    no_args_is_help=True,
)
T = TypeVar("T")
MISFIRE = {
    "skip": schedule_pb2.MISFIRE_POLICY_SKIP,
    "run-once": schedule_pb2.MISFIRE_POLICY_RUN_ONCE,
}
OVERLAP = {"allow": schedule_pb2.OVERLAP_POLICY_ALLOW, "skip": schedule_pb2.OVERLAP_POLICY_SKIP}


def _call(action: Callable[[Clients], Awaitable[T]]) -> T:
    """Run one call against the scheduler; a failure is one line on stderr and the
    exit code of its kind (README: 2 refused input, 3 no such schedule, 5 unreachable)."""
    return run(action)


@app.command("list")
def list_schedules() -> None:
    """Every schedule with its timing, next fire time and last task."""
    found = _call(
        lambda c: c.scheduler.ListSchedules(pb.ListSchedulesRequest(), metadata=c.metadata)
    ).schedules
    table = Table("id", "type", "when", "paused", "next fire (UTC)", "last task", "state")
    for s in found:
        when = s.spec.cron or f"every {s.spec.interval.ToTimedelta()}"
        if s.spec.cron and s.spec.time_zone:
            when += f" ({s.spec.time_zone})"
        table.add_row(
            s.schedule_id,
            s.spec.task_type,
            when,
            "yes" if s.paused else "no",
            s.next_fire_at.ToDatetime().isoformat() if s.HasField("next_fire_at") else "-",
            s.last_task_id or "-",
            enums_pb2.TaskState.Name(s.last_task_state).removeprefix("TASK_STATE_")
            if s.last_task_id
            else "-",
        )
    Console().print(table)


@app.command()
def create(
    task_type: Annotated[str, typer.Option("--type", help="A registered task type.")],
    content: Annotated[str, typer.Option(help="Input text of each task.")] = "",
    cron: Annotated[str, typer.Option(help="Cron: 5 fields, or 6 with seconds first.")] = "",
    tz: Annotated[str, typer.Option(help="IANA time zone of the cron (default UTC).")] = "",
    every: Annotated[str, typer.Option(help="A fixed interval instead: 30s, 10m, 1h.")] = "",
    priority: Annotated[int, typer.Option(help="Priority of each task, 0..9.")] = 0,
    misfire: Annotated[str, typer.Option(help="skip or run-once.")] = "skip",
    overlap: Annotated[str, typer.Option(help="allow or skip.")] = "allow",
) -> None:
    """Create a schedule; prints its id."""
    if misfire not in MISFIRE or overlap not in OVERLAP:
        raise typer.BadParameter("--misfire is skip or run-once; --overlap is allow or skip")
    spec = schedule_pb2.ScheduleSpec(
        task_type=task_type,
        content=content,
        cron=cron,
        time_zone=tz,
        priority=priority,
        misfire_policy=MISFIRE[misfire],
        overlap_policy=OVERLAP[overlap],
    )
    if every:
        spec.interval.FromTimedelta(_interval(every))
    request = pb.CreateScheduleRequest(spec=spec)
    created = _call(lambda c: c.scheduler.CreateSchedule(request, metadata=c.metadata))
    typer.echo(created.schedule.schedule_id)


@app.command()
def update(
    schedule_id: str,
    task_type: Annotated[str | None, typer.Option("--type", help="A registered task type.")] = None,
    content: Annotated[str | None, typer.Option(help="Input text of each task.")] = None,
    metadata: Annotated[
        str | None, typer.Option(help='Metadata of each task, a JSON object: \'{"k": "v"}\'.')
    ] = None,
    priority: Annotated[int | None, typer.Option(help="Priority of each task, 0..9.")] = None,
    max_retries: Annotated[int | None, typer.Option(help="Retries of each task.")] = None,
    cron: Annotated[
        str | None, typer.Option(help="Cron: 5 fields, or 6 with seconds first (drops --every).")
    ] = None,
    tz: Annotated[str | None, typer.Option(help="IANA time zone of the cron.")] = None,
    every: Annotated[
        str | None, typer.Option(help="A fixed interval: 30s, 10m, 1h (drops the cron).")
    ] = None,
    misfire: Annotated[str | None, typer.Option(help="skip or run-once.")] = None,
    overlap: Annotated[str | None, typer.Option(help="allow or skip.")] = None,
) -> None:
    """Change a schedule: the options given replace those fields, the rest stay."""
    if misfire is not None and misfire not in MISFIRE:
        raise typer.BadParameter("--misfire is skip or run-once")
    if overlap is not None and overlap not in OVERLAP:
        raise typer.BadParameter("--overlap is allow or skip")
    if cron is not None and every is not None:
        raise typer.BadParameter("give --cron or --every, not both")
    fields = {"task_type": task_type, "content": content, "priority": priority}
    fields |= {"max_retries": max_retries, "time_zone": tz}

    async def change(c: Clients) -> pb.UpdateScheduleResponse:
        get = pb.GetScheduleRequest(schedule_id=schedule_id)
        spec = (await c.scheduler.GetSchedule(get, metadata=c.metadata)).schedule.spec
        for name, value in fields.items():
            if value is not None:
                setattr(spec, name, value)
        if metadata is not None:
            spec.metadata.Clear()
            spec.metadata.update(_json_object(metadata))
        if cron is not None:
            spec.cron = cron
            spec.ClearField("interval")
        if every is not None:
            spec.interval.FromTimedelta(_interval(every))
            spec.cron = ""
            spec.time_zone = ""
        if misfire is not None:
            spec.misfire_policy = MISFIRE[misfire]
        if overlap is not None:
            spec.overlap_policy = OVERLAP[overlap]
        request = pb.UpdateScheduleRequest(schedule_id=schedule_id, spec=spec)
        return await c.scheduler.UpdateSchedule(request, metadata=c.metadata)

    updated = _call(change).schedule
    next_fire = (
        updated.next_fire_at.ToDatetime().isoformat() if updated.HasField("next_fire_at") else "-"
    )
    typer.echo(f"updated {schedule_id}, next fire {next_fire}")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--metadata is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise typer.BadParameter("--metadata must be a JSON object")
    return value


def _interval(text: str) -> timedelta:
    try:
        return parse_delay(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def show(schedule_id: str) -> None:
    """One schedule, all its fields, as JSON (field names as in the .proto)."""
    request = pb.GetScheduleRequest(schedule_id=schedule_id)
    found = _call(lambda c: c.scheduler.GetSchedule(request, metadata=c.metadata)).schedule
    print_json(found)


@app.command()
def pause(schedule_id: str) -> None:
    """Pause a schedule: it fires nothing until resumed."""
    request = pb.PauseScheduleRequest(schedule_id=schedule_id)
    _call(lambda c: c.scheduler.PauseSchedule(request, metadata=c.metadata))
    typer.echo(f"paused {schedule_id}")


@app.command()
def resume(schedule_id: str) -> None:
    """Resume a paused schedule from its next fire time."""
    request = pb.ResumeScheduleRequest(schedule_id=schedule_id)
    _call(lambda c: c.scheduler.ResumeSchedule(request, metadata=c.metadata))
    typer.echo(f"resumed {schedule_id}")


@app.command()
def trigger(schedule_id: str) -> None:
    """Create the schedule's task now; prints the task id."""
    request = pb.TriggerScheduleRequest(schedule_id=schedule_id)
    response = _call(lambda c: c.scheduler.TriggerSchedule(request, metadata=c.metadata))
    typer.echo(response.task_id)


@app.command()
def delete(schedule_id: str) -> None:
    """Delete a schedule (the tasks it created stay)."""
    request = pb.DeleteScheduleRequest(schedule_id=schedule_id)
    _call(lambda c: c.scheduler.DeleteSchedule(request, metadata=c.metadata))
    typer.echo(f"deleted {schedule_id}")
