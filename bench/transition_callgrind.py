"""Server instructions per task of each transition, under callgrind: the same
figure whatever the machine's load.

    uv run python -m bench.transition_callgrind [--tasks 3200] [--batch 32]
        [--subscribers N] [--against REF] [--drain] [--keep DIR]

Starts the bundled valkey (append-only file on, everysec) under
`valgrind --tool=callgrind`, creates, claims and completes `--tasks` tasks in
batches (one script call per batch and transition, as bench.transition_cost), and
dumps the counters after each transition: instructions (Ir) of the whole server
per task. `--subscribers N`: as bench.transition_cost. `--keep DIR`: copy each
phase's dump there (callgrind.<phase>), for callgrind_annotate. `--against REF` first runs
the same on git ref REF's scripts (a `git archive` with this checkout's bench/,
bench.transition_cost.archived). `--drain`: after the creates, claims and
completions go as an executor's lane sends them, TaskStore.complete_and_claim per
batch (the batch done and the next claim in one round trip), one `drain` figure.
Before the counters start, one task goes through every transition, so the scripts
are loaded (the function library, or each EVALSHA script) outside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.transition_cost import HERE, archived, lane, subscribers, warm_up
from taskflow.redis_server import free_port, valkey_server_binary
from taskflow.store import NewTask, TaskStore

PHASES = ("create", "claim", "complete")
DRAIN_PHASES = ("create", "drain")


def total_ir(dump: Path) -> int:
    """The Ir total of one callgrind dump (its `summary:`/`totals:` line)."""
    for line in dump.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise ValueError(f"no totals in {dump}")


def keep_dump(dump: Path, keep: Path, phase: str) -> None:
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dump, keep / f"callgrind.{phase}")


async def control(*args: str) -> None:
    """callgrind_control (-z: zero the counters, -d: dump them) on the server."""
    await asyncio.to_thread(
        subprocess.run, ["callgrind_control", *args], check=True, capture_output=True
    )


async def drive(
    port: int,
    pid: int,
    out: Path,
    n: int,
    batch: int,
    subscribed: int,
    drain: bool,
    keep: Path | None,
) -> list[int]:
    client = Redis(port=port)
    async with asyncio.timeout(120):
        while True:
            try:
                await client.ping()
                break
            except OSError:
                await asyncio.sleep(0.2)
    store = TaskStore(client)
    await warm_up(store)
    with subscribers(port, store.keys.channel, subscribed):
        totals = await phases(store, pid, out, n, batch, drain, keep)
    await client.aclose()
    return totals


async def phases(
    store: TaskStore, pid: int, out: Path, n: int, batch: int, drain: bool, keep: Path | None
) -> list[int]:
    claims: list[Any] = []
    await control("-z", str(pid))
    totals = []
    for phase in DRAIN_PHASES if drain else PHASES:
        if phase == "create":
            for start in range(0, n, batch):
                await store.create_many(
                    [NewTask("noop", f"t{i}") for i in range(start, start + batch)]
                )
        elif phase == "drain":
            await lane(store, n, batch)
        elif phase == "claim":
            while len(claims) < n:
                claims.extend(await store.claim("bench-worker", batch))
        else:
            for start in range(0, n, batch):
                await store.complete_many([(c, "ok") for c in claims[start : start + batch]])
        before = set(out.parent.glob(out.name + "*"))
        await control("-d", phase, str(pid))
        (dump,) = set(out.parent.glob(out.name + "*")) - before
        totals.append(total_ir(dump))
        if keep is not None:
            await asyncio.to_thread(keep_dump, dump, keep, phase)
    return totals


def one_run(n: int, batch: int, subscribed: int, drain: bool, keep: Path | None) -> None:
    """This tree's scripts on a server under callgrind; prints Ir per task."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        out = Path(tmp) / "callgrind.out"
        server = subprocess.Popen(
            [
                "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                str(valkey_server_binary()), "--port", str(port), "--dir", tmp,
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                "--auto-aof-rewrite-percentage", "0",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            totals = asyncio.run(drive(port, server.pid, out, n, batch, subscribed, drain, keep))
        finally:
            server.terminate()
            server.wait(60)
        print(
            f"  batch {batch}, {subscribed} subscriber(s): "
            + "  ".join(
                f"{p} {t / n:,.0f} Ir/task"
                for p, t in zip(DRAIN_PHASES if drain else PHASES, totals, strict=True)
            ),
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=3200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--subscribers", type=int, default=0)
    parser.add_argument("--against", default="")
    parser.add_argument("--drain", action="store_true")
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    if args.against:
        one = [sys.executable, "-m", "bench.transition_callgrind"]
        one += ["--tasks", str(args.tasks), "--batch", str(args.batch)]
        one += ["--subscribers", str(args.subscribers)] + (["--drain"] if args.drain else [])
        with tempfile.TemporaryDirectory() as tmp:
            for label, tree in ((args.against, archived(args.against, Path(tmp))), ("this", HERE)):
                print(f"== {label}", flush=True)
                subprocess.run(one, cwd=tree, check=True)
    else:
        one_run(args.tasks, args.batch, args.subscribers, args.drain, args.keep)
