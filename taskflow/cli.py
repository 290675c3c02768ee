"""The `taskflow` command: run the whole system, or one part of it."""

from __future__ import annotations

import logging
import signal
import threading

import typer

from taskflow.logs import configure_logging
from taskflow.redis_runtime import redis_url_for
from taskflow.settings import Settings

app = typer.Typer(help="AsyncTaskFlow: distributed task processing.", no_args_is_help=True)


@app.command()
def up() -> None:
    """Start everything: the bundled Redis (unless REDIS_URL is set) and the services."""
    settings = Settings()
    configure_logging(settings.log_level)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with redis_url_for(settings) as url:
        typer.echo(f"redis      {url}")
        typer.echo("AsyncTaskFlow is up. Ctrl-C stops it.")
        stop.wait()
    logging.getLogger(__name__).info("event=shutdown_complete")


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as installed

    typer.echo(installed("asynctaskflow"))


def main() -> None:
    app()
