"""The idle executor's cost per task (issue 19): round trips, Redis commands and
executor CPU for tasks created one at a time, the executor idle between them.

    uv run --frozen python -m bench.idle_cost [--tasks 300] [--rounds 2] [--against REF]
        [--py-spy PATH [--profile docs/profiles/wake-idle]] [--callgrind] [--remote]

Per round: a bundled valkey and `taskflow executor` at default settings (its own
process); a few tasks to warm up, then `--tasks` no-op tasks, each created once the
previous one completed and the executor is idle again (a short pause), each waited
for by polling its hash from this process (that connection's commands left out).
Reported per task: the executor's round trips by command (MONITOR, the commands a
script runs not counted), the commands Redis ran in all (INFO commandstats, script
calls included), the executor's user + system CPU µs (/proc: load-dependent, the
load average is printed beside it). The other lane's BLPOP timing out every second
counts too (the same on both sides). `--against REF` runs REF's tree (a `git
archive` with this checkout's bench/ and stubs) in alternate rounds. `--py-spy
PATH` samples the executor in the first round of each side (PROFILE-after.txt for
this checkout, -before.txt for REF). `--callgrind` runs the executor under valgrind
and counts its instructions per idle task instead (the same whatever the load; use
about 100 tasks). `--remote`: the tasks go to a remote Python worker (bench/remote,
the SDK's Worker) through the executor's WorkerService instead, so the counts are
those of its remote session (plus the executor's own idle lanes, as above).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.common import bundled_server, host
from bench.executor_cpu import SLOW_STARTS, under_callgrind
from bench.ours_side import service
from bench.pyspy import Recording, summary
from bench.remote_drain import registered, worker_process
from bench.transition_callgrind import control, total_ir
from bench.transition_cost import archived
from bench.versus_extras import serving
from taskflow.redis_server import free_port
from taskflow.store import NewTask, StoreConfig, TaskStore

# After a completion, the executor is left this long to get back to waiting.
IDLE_PAUSE_S = 0.02
WARM_UP = 10
TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> tuple[float, float]:
    """The process's user and system CPU seconds (every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) * TICK_S, int(fields[12]) * TICK_S


async def one_task(store: TaskStore, client: Redis, remote: bool = False) -> None:
    task = NewTask("bench_noop", "x", queue="bench") if remote else NewTask("noop", "x")
    (created,) = await store.create_many([task])
    key = store.keys.task(created.task_id)
    deadline = time.monotonic() + 30
    while await client.hget(key, "state") != b"COMPLETED":
        if time.monotonic() > deadline:
            raise TimeoutError(f"task {created.task_id} not completed in 30 s")
        await asyncio.sleep(0.0005)


async def watch(client: Redis, own: str, counts: collections.Counter[str]) -> None:
    """Counts every command sent by a client other than `own` (scripts' left out)."""
    async with client.monitor() as monitor:
        async for command in monitor.listen():
            address = f"{command.get('client_address')}:{command.get('client_port')}"
            if command.get("client_type") == "lua" or address == own:
                continue
            verb = str(command["command"]).split(" ", 1)[0].upper()
            counts[verb] += 1


async def round_once(
    n: int,
    source: Path | None,
    log_dir: Path,
    profile: tuple[Path, Path] | None,
    remote: bool = False,
) -> dict[str, Any]:
    env = {"PYTHONPATH": str(source)} if source is not None else {}
    with bundled_server() as server:
        client = Redis.from_url(server.url, single_connection_client=True)
        store = TaskStore(client, StoreConfig())
        address = f"127.0.0.1:{free_port()}"
        with (
            service(
                "executor", server.url, log_dir, TASKFLOW_EXECUTOR_ADDRESS=address, **env
            ) as executor,
            contextlib.ExitStack() as stack,
        ):
            await serving(address)
            if remote:
                stack.enter_context(worker_process("python", address))
                await registered(store, "bench_noop")
            for _ in range(WARM_UP):
                await one_task(store, client, remote)
            own = str((await client.client_info())["addr"])
            monitor_client = Redis.from_url(server.url)
            counts: collections.Counter[str] = collections.Counter()
            watcher = asyncio.create_task(watch(monitor_client, own, counts))
            await asyncio.sleep(0.2)
            await client.config_resetstat()
            counts.clear()
            recording = None
            if profile is not None:
                recording = Recording(profile[0], executor.pid, log_dir / f"{profile[1].stem}.raw")
                await recording.start()
            cpu_before = cpu_s(executor.pid)
            for _ in range(n):
                await asyncio.sleep(IDLE_PAUSE_S)
                await one_task(store, client, remote)
            cpu_after = cpu_s(executor.pid)
            if recording is not None and profile is not None:
                await recording.stop()
                head = f"py-spy of `taskflow executor` over {n} idle tasks (bench/idle_cost.py)"
                lines = [head, *summary(recording.out, top=25)]
                profile[1].write_text("\n".join(lines) + "\n")
            stats = await client.info("commandstats")
            watcher.cancel()
            await monitor_client.aclose()
        await client.aclose()
    # The bench's own commands: one FCALL create and the HGET polls a task (and INFO).
    total = sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_hget")
    total -= n  # the creates
    return {
        "round_trips": {verb: count / n for verb, count in counts.items()},
        "commands": total / n,
        "cpu_us": (sum(cpu_after) - sum(cpu_before)) * 1e6 / n,
        "sys_us": (cpu_after[1] - cpu_before[1]) * 1e6 / n,
        "load": os.getloadavg()[0],
    }


async def instructions_once(n: int, source: Path | None, log_dir: Path) -> float:
    """The executor under callgrind: its instructions (every thread) per idle task."""
    out = log_dir / f"callgrind-{free_port()}.out"
    with bundled_server() as server:
        client = Redis.from_url(server.url, single_connection_client=True)
        store = TaskStore(client, StoreConfig())
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
            for _ in range(WARM_UP):
                await one_task(store, client)
            await control("-z", str(executor.pid))
            for _ in range(n):
                await asyncio.sleep(IDLE_PAUSE_S)
                await one_task(store, client)
            await control("-d", str(executor.pid))
        await client.aclose()
    (dump,) = [path for path in out.parent.glob(f"{out.name}.*") if path.suffix != ".log"]
    return total_ir(dump) / n


async def count_instructions(n: int, rounds: int, against: str) -> None:
    """Callgrind's instructions per idle task, each side in turn."""
    with tempfile.TemporaryDirectory(prefix="bench-idle-cost-") as tmp:
        sides: dict[str, Path | None] = {"this checkout": None}
        if against:
            sides[f"--against {against}"] = archived(against, Path(tmp))
        counts: dict[str, list[float]] = {name: [] for name in sides}
        for round_ in range(rounds):
            order = list(sides.items()) if round_ % 2 == 0 else list(sides.items())[::-1]
            for name, source in order:
                ir = await instructions_once(n, source, Path(tmp))
                counts[name].append(ir)
                print(f"round {round_ + 1} {name:<28} {ir:12,.0f} Ir/task", flush=True)
    for name, got in counts.items():
        print(f"median {name:<28} {statistics.median(got):12,.0f} Ir/task")


async def main(
    n: int,
    rounds: int,
    against: str,
    py_spy: Path | None,
    profile: Path,
    callgrind: bool,
    remote: bool,
) -> None:
    print(host())
    if callgrind:
        await count_instructions(n, rounds, against)
        return
    with tempfile.TemporaryDirectory(prefix="bench-idle-cost-") as tmp:
        sides: dict[str, Path | None] = {"this checkout": None}
        if against:
            sides[f"--against {against}"] = archived(against, Path(tmp))
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
        for round_ in range(rounds):
            order = list(sides.items()) if round_ % 2 == 0 else list(sides.items())[::-1]
            for name, source in order:
                spied = None
                if py_spy is not None and round_ == 0:
                    side = "before" if source is not None else "after"
                    spied = (py_spy, profile.with_name(f"{profile.name}-{side}.txt"))
                got = await round_once(n, source, Path(tmp), spied, remote)
                results[name].append(got)
                sent = sum(got["round_trips"].values())
                trips = "  ".join(f"{v} {c:.2f}" for v, c in sorted(got["round_trips"].items()))
                print(
                    f"round {round_ + 1} {name:<28} commands sent/task {sent:.2f}"
                    f" ({trips})  commands/task {got['commands']:.1f}  executor"
                    f" {got['cpu_us']:,.0f} µs/task, of which system {got['sys_us']:,.0f}"
                    f" (load {got['load']:.2f})",
                    flush=True,
                )
    for name, rows in results.items():
        print(
            f"median {name:<28} commands sent/task "
            f"{statistics.median(sum(g['round_trips'].values()) for g in rows):.2f}  commands/task "
            f"{statistics.median(g['commands'] for g in rows):.1f}  executor "
            f"{statistics.median(g['cpu_us'] for g in rows):,.0f} µs/task"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--against", default="")
    parser.add_argument("--py-spy", type=Path, help="py-spy binary: profile the first round")
    parser.add_argument(
        "--profile", type=Path, default=Path("docs/profiles/wake-idle"),
        help="profiles go to PROFILE-after.txt (this checkout), -before.txt (--against)",
    )  # fmt: skip
    parser.add_argument("--callgrind", action="store_true", help="instructions per task instead")
    parser.add_argument(
        "--remote", action="store_true", help="the tasks run on a remote Python worker"
    )
    args = parser.parse_args()
    if args.remote and args.callgrind:
        parser.error("--remote counts commands and CPU, not instructions")
    asyncio.run(
        main(
            args.tasks,
            args.rounds,
            args.against,
            args.py_spy,
            args.profile,
            args.callgrind,
            args.remote,
        )
    )
