"""Server instructions per promoted task (issue 15): valgrind's callgrind counts them,
whatever the machine's load (our benches share two cores, so CPU time swings).

    uv run --frozen python -m bench.promotion_cost [--tasks 3000] [--batch 200]

Starts the bundled valkey (append-only file on, jemalloc preloaded when the system
has it, as `taskflow up` runs it) under `valgrind --tool=callgrind` with counting
off, creates --tasks tasks due at one instant, and counts only while promote.lua
runs (calls of --batch tasks, with no CPU budget, so a slow valgrind run makes the
same calls as a fast one). Run it on two checkouts to compare them; figures in
docs/performance.md ("Promotion lag").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as NotAnswering

from bench.common import SEED_BATCH, host
from taskflow.redis_server import free_port, jemalloc_library, valkey_server_binary
from taskflow.store import NewTask, StoreConfig, TaskStore

# Creates per second under valgrind (counting off), to place the common run time.
CREATE_PER_S = 300
# A budget no call reaches: the calls are cut by --batch alone.
NO_BUDGET_MS = 10**6


def control(*args: str) -> None:
    subprocess.run(
        ["callgrind_control", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def counted_instructions(out_file: Path) -> int:
    for line in out_file.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def run(total: int, batch: int) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
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
            server.wait()
        counted = sum(counted_instructions(f) for f in Path(tmp).glob("callgrind.out.*"))
    print(host())
    print(f"{moved:,} tasks promoted in calls of {batch}: {counted / moved:,.0f} instructions each")


async def promote_counted(port: int, pid: int, total: int, batch: int) -> int:
    async with Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=600) as client:
        return await promote_counted_on(client, pid, total, batch)


async def promote_counted_on(client: Redis, pid: int, total: int, batch: int) -> int:
    for _ in range(600):
        try:
            await client.ping()
            break
        except NotAnswering:
            await asyncio.sleep(0.2)
    store = TaskStore(client, StoreConfig())
    due = datetime.now(UTC) + timedelta(seconds=total / CREATE_PER_S + 3)
    for start in range(0, total, SEED_BATCH):
        count = min(SEED_BATCH, total - start)
        await store.create_many([NewTask("noop", "x", run_at=due)] * count)
    assert datetime.now(UTC) < due, "creating took longer than planned: lower CREATE_PER_S"
    while datetime.now(UTC) < due + timedelta(milliseconds=50):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await store.promote_due(1, NO_BUDGET_MS)  # loads the script, uncounted
    moved = 0
    control("-z", str(pid))
    control("-i", "on", str(pid))
    while True:
        count, _ = await store.promote_due(batch, NO_BUDGET_MS)
        if not count:
            break
        moved += count
    control("-i", "off", str(pid))
    control("-d", str(pid))
    return moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    run(args.tasks, args.batch)


if __name__ == "__main__":
    main()
