"""Shared benchmark plumbing: a fresh bundled server, seeding, timing and report lines."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from redis.asyncio import Redis

from taskflow.redis_server import BundledRedis
from taskflow.store import NewTask, StoreConfig, TaskStore

SEED_BATCH = 1000


@contextmanager
def bundled_server(appendfsync: str = "everysec") -> Iterator[BundledRedis]:
    """The same server `taskflow up` runs: valkey with the append-only file on."""
    with tempfile.TemporaryDirectory() as tmp:
        server = BundledRedis(Path(tmp), appendfsync=appendfsync)
        server.start()
        try:
            yield server
        finally:
            server.stop()


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.start


async def server_cpu_s(client: Redis) -> float:
    """CPU seconds the server's main thread has used: the work a command cost, which
    a loaded machine (our benches share two cores) hardly changes, unlike wall time."""
    cpu = await client.info("cpu")
    return float(cpu["used_cpu_user_main_thread"]) + float(cpu["used_cpu_sys_main_thread"])


def report(name: str, count: int, seconds: float, unit: str = "tasks/s") -> None:
    print(f"{name:<48} {count / seconds:>10,.0f} {unit}   ({count:,} in {seconds:.2f} s)")


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"


def host() -> str:
    """Cores, CPU model, kernel and the load average before the run, for a report."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
        f"{machine()}, load average before the run {load}"
    )


async def seed_finished(redis_url: str, total: int, dlq_every: int = 100) -> float:
    """`total` finished tasks through the store, as a worker would leave them (one in
    `dlq_every` in the DLQ, the rest COMPLETED); the seconds it took."""
    client = Redis.from_url(redis_url)
    store = TaskStore(client, StoreConfig())
    try:
        with Timer() as timer:
            for start in range(0, total, SEED_BATCH):
                count = min(SEED_BATCH, total - start)
                await store.create_many([NewTask("echo", "seeded")] * count)
                claims = await store.claim("bench-seeder", count)
                doomed = [c for n, c in enumerate(claims) if (start + n) % dlq_every == 0]
                done = [c for c in claims if c not in doomed]
                await store.complete_many([(claim, "seeded") for claim in done])
                for claim in doomed:
                    await store.fail(claim, "seeded failure", "PermanentError", permanent=True)
        return timer.seconds
    finally:
        await client.aclose()


def wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Until `url` answers 200; RuntimeError if `process` exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")
