"""Redis cost of a running task's reports: commands and AOF bytes per call.

    uv run python -m bench.progress_cost [--calls 1000]

Stores `--calls` progress reports (progress.lua) and as many one-line log batches
(log_append.lua) for one ACTIVE task on the bundled server, and prints per call the
commands the script ran (INFO commandstats, EVALSHA itself left out) and the
append-only file's growth: both exact, whatever the load.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from bench.common import bundled_server, host
from taskflow.store import NewTask, TaskStore
from taskflow.store.task_logs import LogLine, TaskLogs

SKIPPED = ("cmdstat_fcall", "cmdstat_evalsha", "cmdstat_info", "cmdstat_config|resetstat")


async def per_call(
    client: Redis, calls: int, call: Callable[[int], Awaitable[object]]
) -> tuple[dict[str, float], float]:
    """The commands per call by name, and AOF bytes per call, of `calls` calls."""
    await call(-1)  # loads the script
    await client.config_resetstat()
    before = int((await client.info("persistence"))["aof_current_size"])
    for i in range(calls):
        await call(i)
    stats = await client.info("commandstats")
    after = int((await client.info("persistence"))["aof_current_size"])
    commands = {name.removeprefix("cmdstat_"): row["calls"] / calls
                for name, row in sorted(stats.items()) if name not in SKIPPED}  # fmt: skip
    return commands, (after - before) / calls


async def measure(url: str, calls: int) -> None:
    client = Redis.from_url(url)
    store = TaskStore(client)
    logs = TaskLogs(store)
    await store.create(NewTask("echo", "x"))
    (claim,) = await store.claim("w", 1)

    async def progress(i: int) -> None:
        await store.progress(claim, max(i, 0) / calls, f"step {i}")

    async def log_line(i: int) -> None:
        await logs.append(claim.task_id, [LogLine(None, "INFO", "bench", f"line {i}")])

    for name, call in (("progress.lua", progress), ("log_append.lua", log_line)):
        commands, aof = await per_call(client, calls, call)
        listed = ", ".join(f"{k} {v:g}" for k, v in commands.items())
        print(f"{name}: {sum(commands.values()):g} commands per call ({listed}); "
              f"{aof:.0f} AOF bytes per call")  # fmt: skip
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    print(host())
    with bundled_server() as server:
        asyncio.run(measure(server.url, args.calls))


if __name__ == "__main__":
    main()
