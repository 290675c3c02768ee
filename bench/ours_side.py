"""Our side of bench/versus.py: services started as `taskflow <service>` runs them,
at default settings (only addresses and REDIS_URL are set), logs to files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis.asyncio import Redis

from taskflow.redis_server import free_port
from taskflow.store import NewTask, StoreConfig, TaskState, TaskStore
from taskflow.store.control import ExecutorControl

ROOT = Path(__file__).resolve().parent.parent
TASKFLOW = Path(sys.executable).parent / "taskflow"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def server_pid(client: Redis) -> int:
    return int((await client.info("server"))["process_id"])


@contextmanager
def service(
    name: str, redis_url: str, log_dir: Path, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`taskflow <name>` as its own process, stopped by SIGTERM."""
    full_env = dict(os.environ, REDIS_URL=redis_url, **env)
    with (log_dir / f"{name}-{free_port()}.log").open("ab") as log:
        process = subprocess.Popen(
            [str(TASKFLOW), name], cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(60)


class Queue:
    """Tasks queued behind the executors' pause flag, and the count of completed ones."""

    def __init__(self, client: Redis) -> None:
        self.store = TaskStore(client, StoreConfig())
        self.control = ExecutorControl(client, self.store.keys)

    async def fill_paused(self, n: int) -> None:
        await self.control.pause()
        for start in range(0, n, 1000):
            await self.store.create_many([NewTask("noop", "x")] * min(1000, n - start))

    async def resume(self) -> None:
        await self.control.resume()

    async def completed(self) -> int:
        return (await self.store.status()).states[TaskState.COMPLETED]
