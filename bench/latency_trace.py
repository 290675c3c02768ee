"""Where one task's create -> completion milliseconds go, hop by hop.

    uv run --frozen python -m bench.latency_trace [--samples 200] [--show N]
        [--no-monitor | --profile monitor|executor|scheduler [--py-spy PATH]]

Starts scheduler, executor and monitor (`taskflow <service>`, default settings) on
a bundled valkey and does what bench/versus_extras.py's ours_latency() does, one
task at a time: CreateTask, then WatchTask until COMPLETED. A second connection
runs valkey's MONITOR, which stamps every command with the server's clock (the
same machine's clock as the client's time.time()), so each sample splits into:

  send -> create script      client sends CreateTask .. valkey runs `create`
  create script -> reply     .. the client has the CreateTask reply
  reply -> watch snapshot    .. valkey runs the watch's snapshot read (FCALL_RO of
                                watch_snapshot; XREVRANGE where it is a pipeline)
  create -> claim            .. the executor's claim script (its BLPOP wake-up)
  claim -> complete          .. the executor's completion script (the no-op)
  complete -> watch read     .. the monitor reads the task again (XREAD returned)
  watch read -> seen         .. the client has the COMPLETED message

and counts the other commands each process sent inside the sample (round trips
that are not on the list above). MONITOR costs valkey a little per command, and
the table says the load: compare before/after in the same conditions.
--no-monitor: the plain end-to-end p50/p99 only (no MONITOR overhead).
--profile SERVICE: py-spy that service over the samples instead of MONITOR.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpc import aio
from redis.asyncio import Redis

from bench import foreign, pyspy
from bench.common import bundled_server
from bench.lifecycle import process_cpu_s
from bench.ours_side import server_pid, service
from bench.versus_extras import serving
from taskflow.redis_server import free_port
from taskflow.store.scripts import library
from taskflow.v1 import enums_pb2, monitor_service_pb2, monitor_service_pb2_grpc
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc as pb_grpc

SERVICES = ("scheduler", "executor", "monitor")
HOPS = (
    "send -> create script",
    "create script -> reply",
    "reply -> watch snapshot",
    "create -> claim",
    "claim -> complete",
    "complete -> watch read",
    "watch read -> seen",
)
IDLE_S = 2.0  # after every service answers, before the first sample
# FCALL's function name (versioned) -> the script's own name.
SCRIPT_OF = {fcall.lower(): name for name, fcall in library().functions.items()}


@dataclass
class Command:
    at: float  # server's unix seconds
    port: int  # the client connection's port
    words: list[str]

    @property
    def verb(self) -> str:
        """The command's name, or FCALL's script name (`fcall create`)."""
        if not self.words:
            return "?"
        verb = self.words[0].lower()
        if verb.startswith("fcall") and len(self.words) > 1:
            return f"fcall {SCRIPT_OF.get(self.words[1].lower(), self.words[1])}"
        return verb


@dataclass
class Sample:
    sent: float
    replied: float
    seen: float
    task_id: str
    commands: list[Command] = field(default_factory=list)


def _first(commands: list[Command], after: float, *verbs: str) -> float | None:
    for command in commands:
        if command.at >= after and command.verb in verbs:
            return command.at
    return None


def hops(sample: Sample) -> dict[str, float] | None:
    """The sample's hops in ms (None when a mark is missing from the trace)."""
    mine = sample.commands
    create = _first(mine, sample.sent, "fcall create")
    # One FCALL_RO (verb "fcall watch_snapshot"), or a pipeline led by XREVRANGE.
    snapshot = _first(mine, sample.replied, "fcall watch_snapshot", "xrevrange")
    claim = _first(mine, create or sample.sent, "fcall claim", "fcall complete_and_claim")
    complete = _first(mine, claim or sample.sent, "fcall complete", "fcall complete_and_claim")
    reread = _first(mine, complete or sample.sent, "hgetall")
    if create is None or snapshot is None or claim is None or complete is None:
        return None
    # A task done before its watch's snapshot needs no second read: the snapshot ends it.
    read = reread if reread is not None else snapshot
    ms = {
        "send -> create script": create - sample.sent,
        "create script -> reply": sample.replied - create,
        "reply -> watch snapshot": snapshot - sample.replied,
        "create -> claim": claim - create,
        "claim -> complete": complete - claim,
        "complete -> watch read": max(read - complete, 0.0),
        "watch read -> seen": sample.seen - max(read, complete),
    }
    return {name: value * 1000 for name, value in ms.items()}


def ports_of(pids: dict[str, int]) -> dict[int, str]:
    """Local port of each of the services' TCP connections -> the service's name
    (Linux /proc: the processes' socket inodes, then /proc/net/tcp's rows)."""
    inodes = {}
    for name, pid in pids.items():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = name
    owners = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                if fields[9] in inodes:
                    owners[int(fields[1].rsplit(":", 1)[1], 16)] = inodes[fields[9]]
    return owners


@contextlib.asynccontextmanager
async def monitored(url: str, into: list[Command]) -> AsyncIterator[None]:
    client = Redis.from_url(url)
    ready = asyncio.Event()

    async def read() -> None:
        async with client.monitor() as monitor:
            ready.set()
            async for raw in monitor.listen():
                if raw.get("client_type") == "lua":
                    continue
                into.append(
                    Command(
                        float(raw["time"]), int(raw.get("client_port") or 0), raw["command"].split()
                    )
                )

    reader = asyncio.create_task(read())
    await ready.wait()
    try:
        yield
    finally:
        await asyncio.sleep(0.2)  # the last sample's commands
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        with contextlib.suppress(Exception):
            await client.aclose()


async def run_samples(scheduler: str, monitor: str, count: int) -> list[Sample]:
    samples = []
    async with aio.insecure_channel(scheduler) as ch1, aio.insecure_channel(monitor) as ch2:
        create = pb_grpc.SchedulerServiceStub(ch1).CreateTask
        watch = monitor_service_pb2_grpc.MonitorServiceStub(ch2).WatchTask
        request = pb.CreateTaskRequest(task_type="noop", content="x")
        for _ in range(count):
            sent = time.time()
            task_id = (await create(request)).task_id
            replied = time.time()
            stream = watch(monitor_service_pb2.WatchTaskRequest(task_id=task_id))
            async for message in stream:
                if message.task.state == enums_pb2.TASK_STATE_COMPLETED:
                    break
            seen = time.time()
            stream.cancel()
            samples.append(Sample(sent, replied, seen, task_id))
    return samples


def table(rows: dict[str, list[float]]) -> None:
    print(f"  {'hop':<28} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for name, values in rows.items():
        cuts = statistics.quantiles(values, n=100)
        print(f"  {name:<28} {cuts[49]:>8.3f} {cuts[89]:>8.3f} {cuts[98]:>8.3f}")


async def main(options: argparse.Namespace) -> None:
    with bundled_server() as server, tempfile.TemporaryDirectory() as logs:
        addresses = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
        env = {f"TASKFLOW_{name.upper()}_ADDRESS": value for name, value in addresses.items()}
        with contextlib.ExitStack() as stack:
            pids = {
                name: stack.enter_context(service(name, server.url, Path(logs), **env)).pid
                for name in SERVICES
            }
            for address in addresses.values():
                await serving(address)
            await asyncio.sleep(IDLE_S)
            # Warm-up: connections made, code paths run once.
            await run_samples(addresses["scheduler"], addresses["monitor"], 20)
            commands: list[Command] = []
            load = os.getloadavg()
            processes = dict(pids, client=os.getpid())
            async with Redis.from_url(server.url) as client:
                processes["valkey"] = await server_pid(client)
            cpu_before = {name: process_cpu_s(pid) for name, pid in processes.items()}
            if options.profile:
                recording = pyspy.Recording(
                    options.py_spy or foreign.bench_env() / "py-spy",
                    pids[options.profile],
                    Path(logs) / "stacks.txt",
                )
                await recording.start()
                await asyncio.sleep(1.0)  # py-spy attached
                samples = await run_samples(
                    addresses["scheduler"], addresses["monitor"], options.samples
                )
                await recording.stop()
                profile = pyspy.summary(recording.out, top=25)
            elif options.no_monitor:
                samples = await run_samples(
                    addresses["scheduler"], addresses["monitor"], options.samples
                )
            else:
                async with monitored(server.url, commands):
                    samples = await run_samples(
                        addresses["scheduler"], addresses["monitor"], options.samples
                    )
            cpu = {name: process_cpu_s(pid) - cpu_before[name] for name, pid in processes.items()}
            owners = ports_of(pids)
    totals = [(s.seen - s.sent) * 1000 for s in samples]
    cuts = statistics.quantiles(totals, n=100)
    print(
        f"create -> completed seen (WatchTask), {len(samples)} samples, load "
        f"{load[0]:.2f}{' (under MONITOR)' if commands else ''}: "
        f"p50 {cuts[49]:.2f} ms, p90 {cuts[89]:.2f} ms, p99 {cuts[98]:.2f} ms"
    )
    per_sample = {name: seconds / len(samples) * 1e6 for name, seconds in cpu.items()}
    print(
        "CPU per sample (user+system): "
        + ", ".join(f"{k} {v:.0f} µs" for k, v in per_sample.items())
    )
    if options.profile:
        print(f"py-spy of the {options.profile} over the samples:")
        print("\n".join(profile))
    if not commands:
        return
    index = 0
    for sample in samples:  # commands are in time order; hand each sample its window
        while index < len(commands) and commands[index].at < sample.sent:
            index += 1
        end = index
        while end < len(commands) and commands[end].at <= sample.seen:
            end += 1
        sample.commands = commands[index:end]
    rows: dict[str, list[float]] = defaultdict(list)
    per_process: Counter[tuple[str, str]] = Counter()
    traced = 0
    for sample in samples:
        got = hops(sample)
        if got is None:
            continue
        traced += 1
        for name, value in got.items():
            rows[name].append(value)
        for command in sample.commands:
            per_process[(owners.get(command.port, "?"), command.verb)] += 1
    for sample in samples[: options.show]:
        print(f"sample {sample.task_id}: client sent at 0.000 ms")
        for command in sample.commands:
            owner = owners.get(command.port, "?")
            print(f"  {(command.at - sample.sent) * 1000:8.3f} ms  {owner:<10} {command.verb}")
        print(f"  {(sample.replied - sample.sent) * 1000:8.3f} ms  client has the CreateTask reply")
        print(f"  {(sample.seen - sample.sent) * 1000:8.3f} ms  client has COMPLETED")
    print(f"per hop ({traced} samples with every mark; server clock vs client clock):")
    table(rows)
    print("commands valkey ran inside a sample, per sample, by process:")
    for (process, verb), count in sorted(per_process.items()):
        print(f"  {process:<10} {verb:<28} {count / max(traced, 1):>6.2f}")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--show", type=int, default=0, help="print N samples' timelines")
    parser.add_argument("--no-monitor", action="store_true", help="end to end only")
    parser.add_argument(
        "--profile", choices=SERVICES, help="py-spy this service over the samples (no MONITOR)"
    )
    parser.add_argument(
        "--py-spy", type=Path, help="py-spy binary (default: build/bench-env's, installed)"
    )
    return parser.parse_args()


def run(options: Any = None) -> None:
    asyncio.run(main(options or _args()))


if __name__ == "__main__":
    run()
