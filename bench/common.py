"""Shared benchmark plumbing: a fresh bundled server, timing and a report line."""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from taskflow.redis_server import BundledRedis


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


def report(name: str, count: int, seconds: float, unit: str = "tasks/s") -> None:
    print(f"{name:<48} {count / seconds:>10,.0f} {unit}   ({count:,} in {seconds:.2f} s)")


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
