"""The dashboard in chromium with 100,000 stored tasks and a steady stream of events.

    uv run --frozen python -m bench.dashboard [--tasks 100000] [--rates 70,200] [--seconds 20]

Seeds `--tasks` finished tasks straight through the store (99 % COMPLETED, 1 % in
the DLQ), starts the whole stack as processes (the browser tests' harness,
tests/browser/stack.py), then has frontend/e2e/dashboard.measure.ts measure in the
browser: first render on a quiet system, then, for each rate, a window on the
Dashboard and one on Tasks History while a generator creates that many echo tasks
per second, which the real executor completes (three stream events per task:
created, ACTIVE, COMPLETED). Prints the figures; docs/performance.md keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.common import bundled_server, host, seed_finished
from taskflow.store import NewTask, StoreConfig, TaskStore
from tests.browser.specs import CHROMIUM, ensure_dashboard_built, run_vitest
from tests.browser.stack import provider_env, running_stack

MEASURE_FILE = "e2e/dashboard.measure.ts"
# Generator ticks per second: each tick creates rate/TICKS tasks in one round trip.
TICKS = 10


async def generate(redis_url: str, rate: int, stop: asyncio.Event) -> int:
    """Create `rate` echo tasks per second until `stop`; how many were created."""
    client = Redis.from_url(redis_url)
    store = TaskStore(client, StoreConfig())
    per_tick, created = max(1, rate // TICKS), 0
    loop = asyncio.get_running_loop()
    next_tick = loop.time()
    try:
        while not stop.is_set():
            await store.create_many([NewTask("echo", "live")] * per_tick)
            created += per_tick
            next_tick += 1 / TICKS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_tick - loop.time()))
        return created
    finally:
        await client.aclose()


def measure(base_url: str, phase: str, seconds: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        run_vitest(
            MEASURE_FILE,
            base_url,
            {
                "TASKFLOW_MEASURE_PHASE": phase,
                "TASKFLOW_MEASURE_SECONDS": str(seconds),
                "TASKFLOW_MEASURE_OUT": out.name,
            },
        )
        result: dict[str, Any] = json.loads(Path(out.name).read_text())
        return result


async def measure_live(redis_url: str, base_url: str, rate: int, seconds: float) -> dict[str, Any]:
    stop = asyncio.Event()
    generating = asyncio.create_task(generate(redis_url, rate, stop))
    try:
        figures = await asyncio.to_thread(measure, base_url, "live", seconds)
    finally:
        stop.set()
        created = await generating
    figures["tasks_created"] = created
    return figures


def machine() -> str:
    version = subprocess.run(
        [str(CHROMIUM), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return f"{host()}, {version}"


def print_first_render(figures: dict[str, Any]) -> None:
    print("first render (quiet system)")
    for key in (
        "firstContentfulPaintMs",
        "countsShownMs",
        "historyRowsMs",
        "longTasks",
        "longTaskMs",
        "mainThreadMs",
        "heapUsedMb",
    ):
        print(f"  {key:<28} {_number(figures[key])}")
    print(f"  {'requests':<28} {figures['requests']}")


def print_live(rate: int, figures: dict[str, Any]) -> None:
    print(f"live, {rate} tasks/s generated ({figures['tasks_created']} created)")
    for page in ("dashboard", "history"):
        values = figures[page]
        print(f"  {page}")
        for key, value in values.items():
            print(f"    {key:<28} {_number(value)}")


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_number(v)}" for k, v in value.items())
    return str(value)


@contextlib.contextmanager
def stack_logs() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        yield Path(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=100_000, help="finished tasks to seed")
    parser.add_argument("--rates", default="70,200", help="tasks/s the generator creates")
    parser.add_argument("--seconds", type=float, default=20, help="each measuring window")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: `make browser` installs it")
    ensure_dashboard_built()
    print(machine())
    with bundled_server() as server, stack_logs() as logs:
        seconds = asyncio.run(seed_finished(server.url, args.tasks))
        print(f"seeded {args.tasks:,} tasks in {seconds:.1f} s")
        with running_stack(server.url, logs, provider_env(None)) as stack:
            print_first_render(measure(stack.base_url, "first-render", args.seconds))
            for rate in (int(r) for r in args.rates.split(",")):
                figures = asyncio.run(measure_live(server.url, stack.base_url, rate, args.seconds))
                print_live(rate, figures)
                time.sleep(2)  # let the executor drain before the next rate


if __name__ == "__main__":
    main()
