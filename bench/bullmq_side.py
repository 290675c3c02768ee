"""BullMQ's side of bench/versus.py: installed from npm into build/bench-bullmq on
first use (bench/bullmq/package.json and its lock pin the version), never a project
dependency; bench/bullmq/bench.mjs runs there, one command per Node process.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).resolve().parent / "bullmq"
BUILD = ROOT / "build" / "bench-bullmq"
# The concurrency BullMQ's documentation shows for a Worker whose jobs are async
# (docs.bullmq.io/guide/workers/concurrency); a no-op is the extreme of that.
CONCURRENCY = 50
# Where BullMQ keeps the ids of completed jobs of the queue "bench" (its own key,
# read here only to count the drain).
COMPLETED_KEY = "bull:bench:completed"
# Any one command (fill, latency, add, addbulk) ends well within this, or has hung.
COMMAND_TIMEOUT_S = 300.0


def install() -> Path:
    """build/bench-bullmq with the pinned BullMQ (npm ci, once per lock change) and the
    current bench.mjs; returns that folder."""
    BUILD.mkdir(parents=True, exist_ok=True)
    lock = SOURCE / "package-lock.json"
    installed = BUILD / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(SOURCE / name, BUILD / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=BUILD, check=True)
    shutil.copy2(SOURCE / "bench.mjs", BUILD / "bench.mjs")
    return BUILD


def _command(*args: object) -> list[str]:
    return ["node", str(BUILD / "bench.mjs"), *(str(arg) for arg in args)]


def _env(redis_url: str) -> dict[str, str]:
    return dict(os.environ, BENCH_REDIS_URL=redis_url)


async def run(redis_url: str, *args: object) -> dict[str, Any]:
    """One bench.mjs command to its end; its JSON line."""
    process = await asyncio.create_subprocess_exec(
        *_command(*args), env=_env(redis_url), stdout=asyncio.subprocess.PIPE
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"bench.mjs {args} exited with {process.returncode}")
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


class Worker:
    """A BullMQ Worker process, connected and waiting; start() lets it take jobs."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pid = process.pid

    async def start(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()


@asynccontextmanager
async def worker(redis_url: str, concurrency: int = CONCURRENCY) -> AsyncIterator[Worker]:
    process = await asyncio.create_subprocess_exec(
        *_command("work", concurrency), env=_env(redis_url),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if not line:
            raise RuntimeError("the BullMQ worker exited before it was ready")
        yield Worker(process)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def completed(client: Redis) -> int:
    return int(await client.zcard(COMPLETED_KEY))
