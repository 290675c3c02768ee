"""Ours against BullMQ in the same run: each on its own bundled valkey (appendonly
yes, appendfsync everysec), interleaved rounds, one worker process per system.

    uv run --frozen python -m bench.versus [--tasks 20000] [--rounds 3] [--quick]

Drain: N no-op tasks queued, then one worker process drains them: ours is
`taskflow executor` at its default settings, BullMQ a Worker of concurrency 50
(bench/bullmq/bench.mjs). Per round: drain tasks/s (steady state, first completion to
last), worker and valkey CPU µs per task (/proc/<pid>/stat, from the worker's start to
the last completion); medians over the rounds and the ratio ours/BullMQ. Without
--quick, each round also drains with two executor processes, and after the rounds:
create -> completion latency on an idle system (a WatchTask client against BullMQ
QueueEvents 'completed'), unary create from one client (CreateTask against Queue.add),
batched create (BatchCreateTasks against addBulk, 500 a batch), and each service's RSS
idle. BullMQ is installed by the benchmark into build/bench-bullmq (bench_side).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench import bullmq_side, versus_extras
from bench.common import bundled_server, host
from bench.lifecycle import process_cpu_s, steady_drain
from bench.ours_side import Queue, server_pid, service
from taskflow.redis_server import free_port

# Each system's name -> (client, URL) of its own valkey.
Servers = dict[str, tuple[Redis, str]]


@dataclass(frozen=True)
class Drain:
    rate: float  # tasks/s
    worker_us: float  # worker process(es) CPU per task
    server_us: float  # valkey CPU per task
    scripts: float = 0.0  # script calls (FCALL, EVALSHA...) per task: the batch size's inverse


async def script_calls(client: Redis) -> int:
    stats: dict[str, Any] = await client.info("commandstats")
    return sum(
        int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))
        for name in ("fcall", "evalsha", "eval")
    )


async def measure(
    n: int, worker_pids: list[int], valkey_pid: int,
    start: Callable[[], Awaitable[None]], completed: Callable[[], Awaitable[int]],
    client: Redis | None = None,
) -> Drain:  # fmt: skip
    """Drain rate and CPU per task; with the system's `client`, its script calls too."""
    calls_before = await script_calls(client) if client is not None else 0
    worker_before = sum(map(process_cpu_s, worker_pids))
    server_before = process_cpu_s(valkey_pid)
    await start()
    seconds = await steady_drain(completed, n)
    worker = sum(map(process_cpu_s, worker_pids)) - worker_before
    server = process_cpu_s(valkey_pid) - server_before
    calls = await script_calls(client) - calls_before if client is not None else 0
    return Drain(n / seconds, worker / n * 1e6, server / n * 1e6, calls / n)


async def ours(client: Redis, url: str, n: int, processes: int, log_dir: Path) -> Drain:
    queue = Queue(client)
    await queue.fill_paused(n)
    with contextlib.ExitStack() as stack:
        pids = []
        for _ in range(processes):
            address = f"127.0.0.1:{free_port()}"
            executor = stack.enter_context(
                service("executor", url, log_dir, TASKFLOW_EXECUTOR_ADDRESS=address)
            )
            await versus_extras.serving(address)
            pids.append(executor.pid)
        valkey = await server_pid(client)
        result = await measure(n, pids, valkey, queue.resume, queue.completed, client)
    await client.flushall()
    return result


async def bullmq(client: Redis, url: str, n: int) -> Drain:
    await bullmq_side.run(url, "fill", n)
    async with bullmq_side.worker(url) as worker:
        result = await measure(
            n, [worker.pid], await server_pid(client), worker.start,
            lambda: bullmq_side.completed(client), client,
        )  # fmt: skip
    await client.flushall()
    return result


def line(label: str, drain: Drain) -> str:
    return (
        f"  {label:<34} {drain.rate:>8,.0f} tasks/s   worker {drain.worker_us:>5.0f} µs/task"
        f"   valkey {drain.server_us:>5.0f} µs/task   {drain.scripts:.2f} script calls/task"
    )


def median(drains: list[Drain]) -> Drain:
    fields = ("rate", "worker_us", "server_us", "scripts")
    return Drain(*(statistics.median(getattr(d, field) for d in drains) for field in fields))


Sides = dict[str, Callable[[], Awaitable[Drain]]]


def alternate_first_two(index: int, labels: list[str]) -> list[str]:
    """Round `index`'s order: the first two sides swap places every other round."""
    return labels if index % 2 == 0 else [*labels[1::-1], *labels[2:]]


async def interleaved(
    sides: Sides, count: int, order: Callable[[int, list[str]], list[str]]
) -> dict[str, list[Drain]]:
    """`count` rounds, each side drained once per round in `order(round, labels)`,
    each drain printed as it ends."""
    results: dict[str, list[Drain]] = {label: [] for label in sides}
    for index in range(count):
        print(f"round {index + 1} of {count}", flush=True)
        for label in order(index, list(sides)):
            results[label].append(await sides[label]())
            print(line(label, results[label][-1]), flush=True)
    return results


def printed_medians(results: dict[str, list[Drain]]) -> dict[str, Drain]:
    """Each side's median drain over its rounds, printed and returned."""
    medians = {label: median(drains) for label, drains in results.items()}
    print(f"medians over {len(next(iter(results.values())))} round(s):")
    for label, drain in medians.items():
        print(line(label, drain))
    return medians


async def rounds(
    servers: Servers, options: argparse.Namespace, log_dir: Path
) -> dict[str, list[Drain]]:
    ours_client, ours_url = servers["ours"]
    bull_client, bull_url = servers["bullmq"]
    sides: Sides = {
        "ours, 1 executor process": lambda: ours(ours_client, ours_url, options.tasks, 1, log_dir),
        "BullMQ, 1 worker process": lambda: bullmq(bull_client, bull_url, options.tasks),
    }
    if not options.quick:
        sides["ours, 2 executor processes"] = lambda: ours(
            ours_client, ours_url, options.tasks, 2, log_dir
        )
    # Which system goes first alternates from round to round.
    return await interleaved(sides, options.rounds, alternate_first_two)


def summary(results: dict[str, list[Drain]]) -> None:
    medians = printed_medians(results)
    one, bull = medians["ours, 1 executor process"], medians["BullMQ, 1 worker process"]
    print(
        f"ours/BullMQ: drain {one.rate / bull.rate:.2f}x, worker CPU per task "
        f"{one.worker_us / bull.worker_us:.2f}x, valkey CPU per task "
        f"{one.server_us / bull.server_us:.2f}x"
    )
    two = medians.get("ours, 2 executor processes")
    if two:
        print(f"ours, 2 executor processes / 1: {two.rate / one.rate:.2f}x")


@contextlib.asynccontextmanager
async def side_by_side(prefix: str) -> AsyncIterator[tuple[Servers, Path]]:
    """One bundled valkey per system (same settings, so neither has the better
    server), a client and URL for each, and a scratch folder."""
    with (
        bundled_server() as ours_server,
        bundled_server() as bull_server,
        tempfile.TemporaryDirectory(prefix=prefix) as tmp,
    ):
        servers: Servers = {
            "ours": (Redis.from_url(ours_server.url), ours_server.url),
            "bullmq": (Redis.from_url(bull_server.url), bull_server.url),
        }
        try:
            yield servers, Path(tmp)
        finally:
            for client, _ in servers.values():
                await client.aclose()


async def main(options: argparse.Namespace) -> None:
    bullmq_side.install()
    print(host())
    print(
        f"{options.tasks:,} no-op tasks per drain; each system on its own bundled valkey "
        f"(appendonly yes, appendfsync everysec); ours: `taskflow executor` at default "
        f"settings; BullMQ: Worker concurrency {bullmq_side.CONCURRENCY}",
        flush=True,
    )
    async with side_by_side("bench-versus-") as (servers, tmp):
        summary(await rounds(servers, options, tmp))
        if not options.quick:
            await versus_extras.run_all(servers, tmp)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average after the run {load}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks per drain")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="the drains of one executor and BullMQ only"
    )
    asyncio.run(main(parser.parse_args()))
