"""Where one executor process at default settings spends a drain: py-spy samples
`taskflow executor` (from build/bench-env, never a project dependency) while it drains
N queued no-op tasks from its own bundled valkey, and prints a text table (idle share,
named groups, hottest frames) fit to commit under docs/profiles/.

    uv run --frozen python -m bench.profile_drain [--tasks 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from redis.asyncio import Redis

from bench import foreign, pyspy
from bench.common import bundled_server, host
from bench.ours_side import Queue, server_pid, service
from bench.versus import measure
from bench.versus_extras import serving
from taskflow.redis_server import free_port


async def main(n: int) -> None:
    py_spy = foreign.bench_env() / "py-spy"
    print(host())
    with bundled_server() as server, tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        client = Redis.from_url(server.url)
        queue = Queue(client)
        await queue.fill_paused(n)
        address = f"127.0.0.1:{free_port()}"
        with service("executor", server.url, Path(tmp), TASKFLOW_EXECUTOR_ADDRESS=address) as ex:
            await serving(address)
            recording = pyspy.Recording(py_spy, ex.pid, Path(tmp) / "stacks.txt")
            valkey_pid = await server_pid(client)

            async def start() -> None:
                await client.config_resetstat()
                await recording.start()
                await queue.resume()

            drain = await measure(n, [ex.pid], valkey_pid, start, queue.completed)
            await recording.stop()
        stats = await client.info("commandstats")
        await client.aclose()
        print(
            f"`taskflow executor` at default settings draining {n:,} no-op tasks under "
            f"py-spy: {drain.rate:,.0f} tasks/s, executor {drain.worker_us:.0f} µs/task, "
            f"valkey {drain.server_us:.0f} µs/task"
        )
        print("\n".join(pyspy.summary(Path(tmp) / "stacks.txt", top=25)))
        print("valkey's own time per command over the drain (INFO commandstats), per task:")
        for name, row in sorted(stats.items(), key=lambda item: -item[1]["usec"])[:6]:
            print(
                f"  {name.removeprefix('cmdstat_'):<12} {row['calls']:>8,} calls  "
                f"{row['usec_per_call']:>7.1f} µs/call  {row['usec'] / n:>6.1f} µs/task"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().tasks))
