"""Executor CPU per drained task: `taskflow executor` at default settings drains N
queued no-ops from its own bundled valkey, round after round; with --against DIR the
rounds alternate between this checkout and each DIR (another checkout's source, e.g.
`git archive main` with its generated taskflow/v1 stubs copied in, run through
PYTHONPATH with this checkout's environment), so an A/B sees the same load.

    uv run --frozen python -m bench.executor_cpu [--tasks 20000] [--rounds 3] [--against DIR]...
        [--callgrind]

Per round: the executor's user + system CPU µs per task (/proc, resume to last
completion), valkey's, and tasks/s (wall time: load-dependent, the load average is
printed beside it); medians per side at the end. CPU per task still moves with the
machine's load (a loaded machine makes smaller batches, and caches are shared), so
`--callgrind` runs the executor under `valgrind --tool=callgrind` instead and counts
its instructions per task from the resume to the last completion: the same figure
whatever the load (use fewer tasks: 2,000 take a minute or two).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis.asyncio import Redis

from bench.common import bundled_server, host
from bench.lifecycle import steady_drain
from bench.ours_side import ROOT, TASKFLOW, Queue, server_pid, service
from bench.transition_callgrind import control, total_ir
from bench.versus import Drain, measure
from bench.versus_extras import serving
from taskflow.redis_server import free_port

# Starting under valgrind takes a while (imports, grpc): up to this many serving() waits.
SLOW_STARTS = 10


async def drain_once(n: int, source: Path | None, log_dir: Path) -> Drain:
    env = {"PYTHONPATH": str(source)} if source is not None else {}
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        queue = Queue(client)
        await queue.fill_paused(n)
        address = f"127.0.0.1:{free_port()}"
        with service(
            "executor", server.url, log_dir, TASKFLOW_EXECUTOR_ADDRESS=address, **env
        ) as ex:
            await serving(address)
            result = await measure(
                n, [ex.pid], await server_pid(client), queue.resume, queue.completed
            )
        await client.aclose()
    return result


@contextmanager
def under_callgrind(
    env: dict[str, str], out: Path, log_dir: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`taskflow executor` under callgrind (its counters dumped to `out`.N on request)."""
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    with (log_dir / f"{out.name}.log").open("ab") as log:
        executor = subprocess.Popen(
            [*command, sys.executable, str(TASKFLOW), "executor"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield executor
    finally:
        executor.terminate()
        executor.wait(300)


def dumped_ir(out: Path) -> int:
    (dump,) = [path for path in out.parent.glob(f"{out.name}.*") if path.suffix != ".log"]
    return total_ir(dump)


async def instructions_once(n: int, source: Path | None, log_dir: Path) -> float:
    """The executor's instructions (callgrind's Ir, every thread) per task drained."""
    out = log_dir / f"callgrind-{free_port()}.out"
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        queue = Queue(client)
        await queue.fill_paused(n)
        address = f"127.0.0.1:{free_port()}"
        env = dict(os.environ, REDIS_URL=server.url, TASKFLOW_EXECUTOR_ADDRESS=address)
        if source is not None:
            env["PYTHONPATH"] = str(source)
        with under_callgrind(env, out, log_dir) as executor:
            for attempt in range(SLOW_STARTS):
                try:
                    await serving(address)
                    break
                except TimeoutError:
                    if attempt == SLOW_STARTS - 1:
                        raise
            await control("-z", str(executor.pid))
            await queue.resume()
            await steady_drain(queue.completed, n)
            await control("-d", str(executor.pid))
        await client.aclose()
    return dumped_ir(out) / n


async def main(n: int, rounds: int, against: list[Path], callgrind: bool) -> None:
    print(host())
    sides: dict[str, Path | None] = {"this checkout": None}
    sides |= {f"--against {source}": source for source in against}
    results: dict[str, list[Drain]] = {name: [] for name in sides}
    counts: dict[str, list[float]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory(prefix="bench-executor-cpu-") as tmp:
        for round_ in range(rounds):
            order = list(sides.items()) if round_ % 2 == 0 else list(sides.items())[::-1]
            for name, source in order:
                if callgrind:
                    counts[name].append(await instructions_once(n, source, Path(tmp)))
                    print(f"round {round_ + 1} {name:<40} {counts[name][-1]:10,.0f} Ir/task")
                    continue
                drain = await drain_once(n, source, Path(tmp))
                results[name].append(drain)
                print(
                    f"round {round_ + 1} {name:<40} executor {drain.worker_us:5.1f} µs/task  "
                    f"valkey {drain.server_us:5.1f} µs/task  {drain.rate:8,.0f} tasks/s "
                    f"(load {os.getloadavg()[0]:.2f})",
                    flush=True,
                )
    for name in sides:
        if callgrind:
            print(f"median {name:<40} {statistics.median(counts[name]):10,.0f} Ir/task")
            continue
        drains = results[name]
        print(
            f"median {name:<40} executor {statistics.median(d.worker_us for d in drains):5.1f} "
            f"µs/task  valkey {statistics.median(d.server_us for d in drains):5.1f} µs/task  "
            f"{statistics.median(d.rate for d in drains):8,.0f} tasks/s"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, action="append", default=[])
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.rounds, args.against, args.callgrind))
