"""The `taskflow` command run as a subprocess against in-process services."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from taskflow.redis_server import free_port
from tests.support.stack import executor, monitor, scheduler, settings_for

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Ran:
    code: int
    out: str
    err: str


def clean_env() -> dict[str, str]:
    """This environment without TASKFLOW_ settings, and a terminal wide enough for
    rich to keep each table row on one line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKFLOW_")}
    env["COLUMNS"] = "200"
    return env


@contextlib.asynccontextmanager
async def services(redis_url: str, client: Redis) -> AsyncIterator[dict[str, str]]:
    """Scheduler, executor and monitor in-process; yields the command's environment."""
    executor_port = free_port()
    addresses = {
        "TASKFLOW_SCHEDULER_ADDRESS": f"127.0.0.1:{free_port()}",
        "TASKFLOW_MONITOR_ADDRESS": f"127.0.0.1:{free_port()}",
        "TASKFLOW_EXECUTOR_ADDRESS": f"127.0.0.1:{executor_port}",
    }
    settings = settings_for(redis_url, **addresses)
    async with (
        scheduler(settings, client),
        monitor(settings, client),
        executor(settings, client, executor_port),
    ):
        yield clean_env() | addresses


async def start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "taskflow.cli", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def taskflow(*args: str, env: dict[str, str]) -> Ran:
    """Run the command without blocking the loop that serves the services."""
    process = await start(*args, env=env)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())
