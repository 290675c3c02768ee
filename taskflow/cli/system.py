"""Commands that run things: the whole system, one service, a reset of the data."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import runpy
import signal
import threading
from typing import Annotated

import typer
from rich.table import Table

from taskflow.cli.common import console
from taskflow.logs import configure_logging
from taskflow.queue_spec import parse_queues
from taskflow.redis_runtime import connected, describe_redis, redis_url_for
from taskflow.settings import Settings
from taskflow.supervisor import Supervisor, child_env, wait_until_stopped

log = logging.getLogger(__name__)
SERVICES = ("scheduler", "monitor", "executor", "gateway")
# Children get the executor's grace period, plus this long to exit.
EXIT_MARGIN_S = 15.0


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


def all_in_one() -> None:
    """Start everything in one process (a small deployment: less memory, one event
    loop): the bundled Redis (unless REDIS_URL is set) and every service."""
    from taskflow.all_in_one import run_all_in_one

    settings = Settings()
    configure_logging(settings.log_level, settings.secret_values())
    with redis_url_for(settings) as url:
        _print_addresses(settings, url)
        asyncio.run(run_all_in_one(settings, url))
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


def scheduler() -> None:
    """Run the scheduler alone (needs REDIS_URL)."""
    _service("scheduler")


def executor(
    queues: Annotated[
        str | None,
        typer.Option(
            "--queues",
            help='Queues to consume with weights, e.g. "default:3,emails:1" '
            "(default: TASKFLOW_QUEUES, else default).",
        ),
    ] = None,
) -> None:
    """Run an executor alone (needs REDIS_URL)."""
    if queues is not None:
        try:
            parse_queues(queues)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--queues") from None
        # The service reads its settings from the environment when it starts.
        os.environ["TASKFLOW_QUEUES"] = queues
    _service("executor")


def monitor() -> None:
    """Run the monitor alone (needs REDIS_URL)."""
    _service("monitor")


def gateway() -> None:
    """Run the REST gateway and dashboard alone (talks to the gRPC services)."""
    _service("gateway")


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


def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as installed

    typer.echo(installed("asynctaskflow"))
