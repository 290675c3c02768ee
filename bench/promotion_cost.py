"""Server instructions per promoted task (issue 15): valgrind's callgrind counts them,
whatever the machine's load (our benches share two cores, so CPU time swings).

    uv run --frozen python -m bench.promotion_cost [--tasks 3000] [--batch 200] [--against REF]

Starts the bundled valkey (append-only file on, jemalloc preloaded when the system
has it, as `taskflow up` runs it) under `valgrind --tool=callgrind` with counting
off, creates --tasks tasks due at one instant, and counts only while promote.lua
runs (calls of --batch tasks with no CPU budget, so a slow valgrind run makes the
same calls as a fast one). `--against REF` first runs the same on git ref REF's
scripts (bench.transition_cost.archived). Figures: docs/performance.md
("Promotion lag").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as NotAnswering

from bench.common import SEED_BATCH, host
from bench.transition_callgrind import control
from bench.transition_cost import HERE, archived
from taskflow.redis_server import free_port, jemalloc_library, valkey_server_binary
from taskflow.store import NewTask, StoreConfig, TaskStore

# Creates per second under valgrind (counting off), to place the common run time.
CREATE_PER_S = 300
# A CPU budget no call reaches (ms): the calls are cut by --batch alone.
NO_BUDGET_MS = 10**6


def counted_ir(dump: Path) -> int:
    """The instructions a dump counted: its `totals:` line (with counting switched
    on and off by callgrind_control, its `summary:` line says 0)."""
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise ValueError(f"no totals in {dump}")


def one_run(total: int, batch: int) -> None:
    """This tree's promote.lua on a server under callgrind; prints Ir per task."""
    with tempfile.TemporaryDirectory(prefix="bench-promotion-cost-") as tmp:
        port, out = free_port(), Path(tmp) / "callgrind.out"
        env = dict(os.environ)
        if (allocator := jemalloc_library()) is not None:
            env["LD_PRELOAD"] = str(allocator)
        server = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
             str(valkey_server_binary()), "--port", str(port), "--dir", tmp,
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            moved = asyncio.run(promote_counted(port, server.pid, total, batch))
        finally:
            server.terminate()
            server.wait(60)
        counted = sum(counted_ir(f) for f in Path(tmp).glob("callgrind.out.*"))
    print(f"  {moved:,} tasks promoted in calls of {batch}: {counted / moved:,.0f} Ir/task")


async def promote_counted(port: int, pid: int, total: int, batch: int) -> int:
    client = Redis(port=port, socket_timeout=600)
    async with asyncio.timeout(120):
        while True:
            try:
                await client.ping()
                break
            except (OSError, NotAnswering):
                await asyncio.sleep(0.2)
    store = TaskStore(client, StoreConfig())
    due = datetime.now(UTC) + timedelta(seconds=total / CREATE_PER_S + 3)
    for start in range(0, total, SEED_BATCH):
        count = min(SEED_BATCH, total - start)
        await store.create_many([NewTask("noop", "x", run_at=due)] * count)
    assert datetime.now(UTC) < due, "creating took longer than planned: lower CREATE_PER_S"
    while datetime.now(UTC) < due + timedelta(milliseconds=50):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await promote(store, 1)  # loads the script, uncounted
    moved = 0
    await control("-z", str(pid))
    await control("-i", "on", str(pid))
    while count := await promote(store, batch):
        moved += count
    await control("-i", "off", str(pid))
    await control("-d", str(pid))
    await client.aclose()
    return moved


async def promote(store: TaskStore, batch: int) -> int:
    """One promote.lua call (a ref's script that takes no budget ignores it)."""
    moved, _ = await store.run_script("promote", store.keys.scheduled, batch, NO_BUDGET_MS)
    return int(moved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--against", default="")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    if not args.against:
        print(host())
        one_run(args.tasks, args.batch)
        return
    one = [sys.executable, "-m", "bench.promotion_cost"]
    one += ["--tasks", str(args.tasks), "--batch", str(args.batch)]
    with tempfile.TemporaryDirectory() as tmp:
        for label, tree in ((args.against, archived(args.against, Path(tmp))), ("this", HERE)):
            print(f"== {label}", flush=True)
            subprocess.run(one, cwd=tree, check=True)


if __name__ == "__main__":
    main()
