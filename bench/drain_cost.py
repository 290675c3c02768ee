"""Server work per drained task, claim and complete apart: A/B against another commit.

    uv run --frozen python -m bench.drain_cost [--against main] [--tasks 3200]
        [--batch 32] [--rounds 5] [--callgrind]

Creates `--tasks` no-op tasks, then claims and completes them in batches of
`--batch` (the executor's default concurrency) on the bundled valkey (append-only
file on), and reports per task, for each transition: the commands the scripts ran
(`INFO commandstats`), the bytes they added to the append-only file
(`aof_current_size`) and the server's main-thread CPU (`INFO cpu`). The first two
are exact whatever the machine's load; CPU is not, so each round runs this
checkout's scripts and the scripts of `--against` (a git revision, read with `git
show`) interleaved on the same server, and the medians are printed side by side.
The Python side is this checkout's for both: the revisions must agree on the
scripts' arguments and replies. With `--callgrind` the server runs under valgrind's
callgrind and the last column is the server's instructions per task instead
(`callgrind_control` dumps the counts around each phase): repeatable whatever the
load, so one round is enough.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

import taskflow.store.scripts as scripts_module
from bench.common import bundled_server, machine, server_cpu_s
from bench.transition_cost import counters
from taskflow.redis_server import (
    free_port,
    jemalloc_library,
    valkey_server_binary,
    wait_until_answering,
)
from taskflow.store import NewTask, TaskStore

PHASES = ("claim", "complete")


def sources_at(revision: str) -> Callable[[str], str]:
    """script_source() as it reads at `revision`."""

    def read(part: str) -> str:
        path = f"{revision}:taskflow/store/lua/{part}.lua"
        return subprocess.run(
            ["git", "show", path], capture_output=True, text=True, check=True
        ).stdout

    def source(name: str) -> str:
        parts = ["_prelude", *scripts_module.INCLUDES.get(name, ()), name]
        return "\n".join(read(part) for part in parts)

    return source


class Callgrind:
    """The bundled valkey (append-only file on) under callgrind."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.total = 0
        env = {"PATH": "/usr/bin:/bin"}
        if (allocator := jemalloc_library()) is not None:
            env["LD_PRELOAD"] = str(allocator)
        self.process = subprocess.Popen(
            [
                "valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/cg.out",
                str(valkey_server_binary()), "--port", str(self.port), "--dir", str(folder),
                "--appendonly", "yes", "--save", "", "--logfile", "valkey.log",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        wait_until_answering(
            self.process, "127.0.0.1", self.port, 120, log_file=folder / "valkey.log"
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def instructions(self) -> int:
        """Instructions the server ran since it started (each call dumps the counts
        since the previous one and adds them up)."""
        before = set(self.folder.glob("cg.out.*"))
        subprocess.run(
            ["callgrind_control", "-d", str(self.process.pid)], check=True, capture_output=True
        )
        while not (dumps := set(self.folder.glob("cg.out.*")) - before):
            time.sleep(0.05)
        (dump,) = dumps
        while "totals:" not in (text := dump.read_text()):
            time.sleep(0.05)
        self.total += int(text.split("totals:")[1].split()[0])
        return self.total


@contextmanager
def callgrind_server() -> Iterator[Callgrind]:
    with tempfile.TemporaryDirectory() as tmp:
        server = Callgrind(Path(tmp))
        try:
            yield server
        finally:
            server.process.terminate()
            server.process.wait(120)


async def sample(client: Redis, grind: Callgrind | None) -> tuple[int, int, float]:
    """Commands run inside scripts, append-only file bytes, server CPU seconds (under
    callgrind: millions of instructions)."""
    _, _, inner = await counters(client)
    persistence: dict[str, Any] = await client.info("persistence")
    cpu = await server_cpu_s(client) if grind is None else grind.instructions() / 1e6
    return inner, int(persistence["aof_current_size"]), cpu


async def one_round(
    client: Redis, store: TaskStore, n: int, batch: int, grind: Callgrind | None
) -> dict[str, tuple[float, ...]]:
    """Per phase: commands, AOF bytes and CPU µs (instructions) per task."""
    await client.flushall()
    for start in range(0, n, batch * 10):
        await store.create_many(
            [NewTask("noop", f"t{i}") for i in range(start, min(n, start + batch * 10))]
        )
    figures: dict[str, tuple[float, ...]] = {}
    claims: list[Any] = []
    before = await sample(client, grind)
    while len(claims) < n:
        claims.extend(await store.claim("bench-worker", batch))
    after = await sample(client, grind)
    figures["claim"] = per_task(before, after, n)
    before = after
    for start in range(0, n, batch):
        await store.complete_many([(c, "ok") for c in claims[start : start + batch]])
    figures["complete"] = per_task(before, await sample(client, grind), n)
    return figures


def per_task(
    before: tuple[int, int, float], after: tuple[int, int, float], n: int
) -> tuple[float, ...]:
    return (
        (after[0] - before[0]) / n,
        (after[1] - before[1]) / n,
        (after[2] - before[2]) * 1e6 / n,
    )


async def main(n: int, batch: int, rounds: int, against: str, grind: bool) -> None:
    variants: dict[str, Callable[[str], str]] = {
        "this checkout": scripts_module.script_source,
        against: sources_at(against),
    }
    results: dict[str, list[dict[str, tuple[float, ...]]]] = {name: [] for name in variants}
    with callgrind_server() if grind else bundled_server() as server:
        under = " under callgrind" if grind else ""
        print(
            f"bundled valkey{under}, appendonly yes; {machine()}; {n:,} tasks, batches of {batch}"
        )
        client = Redis.from_url(server.url)
        callgrind = server if isinstance(server, Callgrind) else None
        await client.config_set("auto-aof-rewrite-percentage", 0)
        for round_no in range(rounds):
            order = list(variants.items())
            if round_no % 2:
                order.reverse()
            for name, source in order:
                # Scripts() below reads the sources through this name.
                scripts_module.script_source = source  # type: ignore[assignment]
                store = TaskStore(client)
                results[name].append(await one_round(client, store, n, batch, callgrind))
        await client.aclose()
    heads = (
        "commands/task",
        "AOF bytes/task",
        "instructions/task" if grind else "CPU µs/task (median)",
    )
    print(f"{'scripts':<16} {'phase':<9} {heads[0]:>14} {heads[1]:>15} {heads[2]:>21}")
    for name, runs in results.items():
        for phase in PHASES:
            commands, aof = runs[0][phase][0], runs[0][phase][1]
            cpu = statistics.median(run[phase][2] for run in runs)
            print(f"{name:<16} {phase:<9} {commands:>14.2f} {aof:>15,.0f} {cpu:>21,.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", default="main", help="git revision whose scripts to compare")
    parser.add_argument("--tasks", type=int, default=3200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--callgrind", action="store_true", help="count server instructions")
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.batch, args.rounds, args.against, args.callgrind))
