"""Server work per drained task, claim and complete apart: A/B against another commit.

    uv run --frozen python -m bench.drain_cost [--against main] [--tasks 3200]
        [--batch 32] [--rounds 5]

Creates `--tasks` no-op tasks, then claims and completes them in batches of
`--batch` (the executor's default concurrency) on the bundled valkey (append-only
file on), and reports per task, for each transition: the commands the scripts ran
(`INFO commandstats`), the bytes they added to the append-only file
(`aof_current_size`) and the server's main-thread CPU (`INFO cpu`). The first two
are exact whatever the machine's load; CPU is not, so each round runs this
checkout's scripts and the scripts of `--against` (a git revision, read with `git
show`) interleaved on the same server, and the medians are printed side by side.
The Python side is this checkout's for both: the revisions must agree on the
scripts' arguments and replies.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

import taskflow.store.scripts as scripts_module
from bench.common import bundled_server, machine, server_cpu_s
from bench.transition_cost import counters
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


async def sample(client: Redis) -> tuple[int, int, float]:
    """Commands run inside scripts, append-only file bytes, server CPU seconds."""
    _, _, inner = await counters(client)
    persistence: dict[str, Any] = await client.info("persistence")
    return inner, int(persistence["aof_current_size"]), await server_cpu_s(client)


async def one_round(
    client: Redis, store: TaskStore, n: int, batch: int
) -> dict[str, tuple[float, ...]]:
    """Per phase: commands, AOF bytes and CPU µs per task."""
    await client.flushall()
    for start in range(0, n, batch * 10):
        await store.create_many(
            [NewTask("noop", f"t{i}") for i in range(start, min(n, start + batch * 10))]
        )
    figures: dict[str, tuple[float, ...]] = {}
    claims: list[Any] = []
    before = await sample(client)
    while len(claims) < n:
        claims.extend(await store.claim("bench-worker", batch))
    after = await sample(client)
    figures["claim"] = per_task(before, after, n)
    before = after
    for start in range(0, n, batch):
        await store.complete_many([(c, "ok") for c in claims[start : start + batch]])
    figures["complete"] = per_task(before, await sample(client), n)
    return figures


def per_task(
    before: tuple[int, int, float], after: tuple[int, int, float], n: int
) -> tuple[float, ...]:
    return (
        (after[0] - before[0]) / n,
        (after[1] - before[1]) / n,
        (after[2] - before[2]) * 1e6 / n,
    )


async def main(n: int, batch: int, rounds: int, against: str) -> None:
    variants: dict[str, Callable[[str], str]] = {
        "this checkout": scripts_module.script_source,
        against: sources_at(against),
    }
    results: dict[str, list[dict[str, tuple[float, ...]]]] = {name: [] for name in variants}
    with bundled_server() as server:
        print(f"bundled valkey, appendonly yes; {machine()}; {n:,} tasks, batches of {batch}")
        client = Redis.from_url(server.url)
        await client.config_set("auto-aof-rewrite-percentage", 0)
        for round_no in range(rounds):
            order = list(variants.items())
            if round_no % 2:
                order.reverse()
            for name, source in order:
                # Scripts() below reads the sources through this name.
                scripts_module.script_source = source  # type: ignore[assignment]
                results[name].append(await one_round(client, TaskStore(client), n, batch))
        await client.aclose()
    heads = ("commands/task", "AOF bytes/task", "CPU µs/task (median)")
    print(f"{'scripts':<16} {'phase':<9} {heads[0]:>14} {heads[1]:>15} {heads[2]:>21}")
    for name, runs in results.items():
        for phase in PHASES:
            commands, aof = runs[0][phase][0], runs[0][phase][1]
            cpu = statistics.median(run[phase][2] for run in runs)
            print(f"{name:<16} {phase:<9} {commands:>14.2f} {aof:>15,.0f} {cpu:>21.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", default="main", help="git revision whose scripts to compare")
    parser.add_argument("--tasks", type=int, default=3200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.batch, args.rounds, args.against))
