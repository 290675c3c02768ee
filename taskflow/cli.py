"""The `taskflow` command: run the whole system or one service, submit, inspect, reset."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import runpy
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import grpc
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from taskflow.client import Clients, connect
from taskflow.logs import configure_logging
from taskflow.redis_runtime import connected, describe_redis, redis_url_for
from taskflow.settings import Settings
from taskflow.status_view import Snapshot, render
from taskflow.supervisor import Supervisor, child_env, wait_until_stopped
from taskflow.v1 import enums_pb2, monitor_service_pb2, scheduler_service_pb2
from taskflow.when import parse_at, parse_delay

app = typer.Typer(help="AsyncTaskFlow: distributed task processing.", no_args_is_help=True)
console = Console(stderr=True)
log = logging.getLogger(__name__)
SERVICES = ("scheduler", "monitor", "executor", "gateway")
# Children get the executor's grace period, plus this long to exit.
EXIT_MARGIN_S = 15.0
TERMINAL = {
    enums_pb2.TASK_STATE_COMPLETED,
    enums_pb2.TASK_STATE_DLQ,
    enums_pb2.TASK_STATE_CANCELLED,
}


@app.command()
def up() -> None:
    """Start everything: the bundled Redis (unless REDIS_URL is set) and every service."""
    settings = Settings()
    configure_logging(settings.log_level, settings.secret_values())
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with redis_url_for(settings) as url:
        supervisor = Supervisor(child_env(url))
        for name in SERVICES:
            if importlib.util.find_spec(f"services.{name}.__main__") is None:
                log.warning("event=service_not_built service=%s", name)
                continue
            supervisor.start(name)
        _print_addresses(settings, url)
        reason = wait_until_stopped(supervisor, stop)
        console.print(f"Stopping ({reason})...")
        supervisor.stop(settings.shutdown_grace_seconds + EXIT_MARGIN_S)
    log.info("event=shutdown_complete")


def _print_addresses(settings: Settings, redis_url: str) -> None:
    table = Table(title="AsyncTaskFlow is up. Ctrl-C stops it.", show_header=False)
    table.add_row("dashboard + REST", f"http://{settings.gateway_host}:{settings.gateway_port}/")
    table.add_row("API docs", f"http://{settings.gateway_host}:{settings.gateway_port}/docs")
    table.add_row("scheduler (gRPC)", settings.scheduler_address)
    table.add_row("executor (gRPC)", settings.executor_address)
    table.add_row("monitor (gRPC)", settings.monitor_address)
    table.add_row("redis", describe_redis(settings, redis_url))
    console.print(table)


def _service(name: str) -> None:
    runpy.run_module(f"services.{name}", run_name="__main__")


@app.command()
def scheduler() -> None:
    """Run the scheduler alone (needs REDIS_URL)."""
    _service("scheduler")


@app.command()
def executor() -> None:
    """Run an executor alone (needs REDIS_URL)."""
    _service("executor")


@app.command()
def monitor() -> None:
    """Run the monitor alone (needs REDIS_URL)."""
    _service("monitor")


@app.command()
def gateway() -> None:
    """Run the REST gateway and dashboard alone (talks to the gRPC services)."""
    _service("gateway")


@app.command()
def submit(
    text: Annotated[str | None, typer.Argument(help="Text to summarize.")] = None,
    pdf: Annotated[Path | None, typer.Option(help="A PDF to extract articles from.")] = None,
    issue_date: Annotated[str, typer.Option(help="Issue date of the PDF (ISO 8601).")] = "",
    task_type: Annotated[str | None, typer.Option("--type", help="Any registered type.")] = None,
    wait: Annotated[bool, typer.Option(help="Follow the task to its result.")] = True,
    run_in: Annotated[
        str | None, typer.Option("--in", help="Run after this delay: 90s, 10m, 1h30m, 2d.")
    ] = None,
    run_at: Annotated[
        str | None, typer.Option("--at", help="Run at this ISO 8601 time (local if no zone).")
    ] = None,
) -> None:
    """Submit a task and (by default) follow it live to its result."""
    settings = Settings()
    try:
        when = _run_time(run_in, run_at, pdf)
        code = asyncio.run(_submit(settings, text, pdf, issue_date, task_type, wait, when))
    except grpc.aio.AioRpcError as error:
        console.print(f"[red]{error.code().name}[/red]: {error.details()}")
        raise typer.Exit(2) from None
    raise typer.Exit(code)


def _run_time(run_in: str | None, run_at: str | None, pdf: Path | None) -> datetime | None:
    if run_in is None and run_at is None:
        return None
    if run_in is not None and run_at is not None:
        raise typer.BadParameter("give --in or --at, not both")
    if pdf is not None:
        raise typer.BadParameter("--in/--at do not apply to --pdf yet")
    try:
        return (
            datetime.now(UTC) + parse_delay(run_in)
            if run_in is not None
            else parse_at(run_at or "")
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


async def _submit(
    settings: Settings,
    text: str | None,
    pdf: Path | None,
    issue_date: str,
    task_type: str | None,
    wait: bool,
    when: datetime | None = None,
) -> int:
    async with connect(settings) as clients:
        task_id = await _create(clients, text, pdf, issue_date, task_type, when)
        typer.echo(task_id)
        if not wait:
            return 0
        return await _follow(clients, task_id)


async def _create(
    clients: Clients,
    text: str | None,
    pdf: Path | None,
    issue_date: str,
    task_type: str | None,
    when: datetime | None = None,
) -> str:
    md = clients.metadata
    if pdf is not None:
        request = scheduler_service_pb2.CreatePdfxtractTaskRequest(
            pdf=await asyncio.to_thread(pdf.read_bytes), filename=pdf.name, issue_date=issue_date
        )
        return (await clients.scheduler.CreatePdfxtractTask(request, metadata=md)).task_id
    if task_type is not None or when is not None:
        generic = scheduler_service_pb2.CreateTaskRequest(
            task_type=task_type or "summarize", content=text or ""
        )
        if when is not None:
            generic.run_at.FromDatetime(when)
        return (await clients.scheduler.CreateTask(generic, metadata=md)).task_id
    if text is None:
        raise typer.BadParameter("give a text to summarize, --pdf FILE, or --type TYPE")
    summarize = scheduler_service_pb2.CreateSummarizeTaskRequest(content=text)
    return (await clients.scheduler.CreateSummarizeTask(summarize, metadata=md)).task_id


async def _follow(clients: Clients, task_id: str) -> int:
    """Show the task's state live (from the WatchTask stream) and print its outcome."""
    request = monitor_service_pb2.WatchTaskRequest(task_id=task_id)
    last = None
    with console.status("waiting for the task...") as spinner:
        async for update in clients.monitor.WatchTask(request, metadata=clients.metadata):
            if update.deleted:
                console.print("the task was deleted")
                return 1
            last = update.task
            state = enums_pb2.TaskState.Name(last.state).removeprefix("TASK_STATE_")
            spinner.update(f"{state} (retries: {last.retry_count}/{last.max_retries})")
    if last is None or last.state not in TERMINAL:
        console.print("[red]the watch ended before the task finished[/red]")
        return 1
    if last.state == enums_pb2.TASK_STATE_DLQ:
        console.print(f"[red]DLQ[/red] {last.error_type}: {last.last_error}")
        return 1
    if last.state == enums_pb2.TASK_STATE_CANCELLED:
        console.print("[yellow]CANCELLED[/yellow]")
        return 1
    console.print("[green]COMPLETED[/green]")
    typer.echo(last.result)
    return 0


@app.command()
def status(
    watch: Annotated[
        float, typer.Option(help="Refresh every this many seconds until Ctrl-C (0: once).")
    ] = 0,
) -> None:
    """Queue depths, task counts, workers and circuit breakers, from the monitor."""
    settings = Settings()
    try:
        asyncio.run(_status(settings, watch))
    except grpc.aio.AioRpcError as error:
        console.print(f"[red]{error.code().name}[/red]: {error.details()}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass


async def _status(settings: Settings, watch: float) -> None:
    async with connect(settings) as clients:
        if watch <= 0:
            Console().print(render(await _snapshot(clients)))
            return
        with Live(render(await _snapshot(clients)), auto_refresh=False) as live:
            while True:
                await asyncio.sleep(watch)
                live.update(render(await _snapshot(clients)), refresh=True)


async def _snapshot(clients: Clients) -> Snapshot:
    md = clients.metadata
    queues, workers = await asyncio.gather(
        clients.monitor.GetQueueStatus(monitor_service_pb2.GetQueueStatusRequest(), metadata=md),
        clients.monitor.ListWorkers(monitor_service_pb2.ListWorkersRequest(), metadata=md),
    )
    return Snapshot(queues, workers)


@app.command()
def reset(
    confirm: Annotated[bool, typer.Option("--confirm", help="Really delete everything.")] = False,
) -> None:
    """Delete every task, queue, counter and worker record of this deployment."""
    if not confirm:
        console.print("This deletes all AsyncTaskFlow data. Run again with --confirm.")
        raise typer.Exit(1)
    settings = Settings()
    url = settings.redis_url or f"redis://127.0.0.1:{settings.redis_port}/0"
    deleted = asyncio.run(_reset(settings, url))
    console.print(f"Deleted {deleted} keys from {describe_redis(settings, url)}")


async def _reset(settings: Settings, url: str) -> int:
    from taskflow.store import Keys
    from taskflow.store.admin import reset_all

    async with connected(settings, url) as client:
        return await reset_all(client, Keys(settings.key_prefix))


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as installed

    typer.echo(installed("asynctaskflow"))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
