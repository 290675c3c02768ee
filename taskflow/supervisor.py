"""Running the services as child processes for `taskflow up`, with prefixed logs.

Each service is `python -m services.<name>`; they share the environment, plus
REDIS_URL pointing at the Redis in use. Stopping sends SIGTERM to every child
(the gateway first, so no new work comes in), waits for their graceful
shutdown, and kills what is still running after the deadline.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

import typer

log = logging.getLogger(__name__)
COLOURS = ("cyan", "green", "magenta", "yellow", "blue")


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    pump: threading.Thread


class Supervisor:
    """Starts services in order and stops them in reverse order."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.children: list[Child] = []

    def start(self, name: str) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Own session: a Ctrl-C at the terminal reaches only the supervisor,
            # which then stops the children in order.
            start_new_session=True,
        )
        colour = COLOURS[len(self.children) % len(COLOURS)]
        assert process.stdout is not None
        pump = threading.Thread(
            target=_pump, args=(name, colour, process.stdout), name=f"log-{name}", daemon=True
        )
        pump.start()
        self.children.append(Child(name, process, pump))

    def exited(self) -> Child | None:
        """A child that has stopped on its own, if any."""
        return next((c for c in self.children if c.process.poll() is not None), None)

    def stop(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.terminate()
        for child in reversed(self.children):
            try:
                child.process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.error("event=child_killed service=%s after_s=%g", child.name, timeout_s)
                child.process.kill()
                child.process.wait()
            child.pump.join(1.0)


def _pump(name: str, colour: str, stream: IO[bytes]) -> None:
    prefix = f"{name:<9} |"
    # Colour only for a person at a terminal: escapes would litter log files and pipes.
    if sys.stderr.isatty() and "NO_COLOR" not in os.environ:
        prefix = typer.style(prefix, fg=colour)
    for raw in iter(stream.readline, b""):
        sys.stderr.write(f"{prefix} {raw.decode(errors='replace').rstrip()}\n")
    stream.close()


def child_env(redis_url: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["REDIS_URL"] = redis_url
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def wait_until_stopped(supervisor: Supervisor, stop: threading.Event, poll_s: float = 0.5) -> str:
    """Block until `stop` is set or a child exits; says which happened."""
    while not stop.wait(poll_s):
        child = supervisor.exited()
        if child is not None:
            return f"{child.name} exited with code {child.process.returncode}"
    return "stop requested"
