"""Instructions our Python spends per create, under callgrind: the same figure
whatever the machine's load (issue 19, the create side).

    uv run --frozen python -m bench.create_callgrind [--calls 300] [--batches 6]
        [--against REF]

Three loops in a Python process run under `valgrind --tool=callgrind`, counting
only while each loop runs (callgrind_control -i), against the bundled valkey
(not under valgrind): one Redis command (an EVALSHA of `return 1`) through the
client every service builds (taskflow.redis_runtime.redis_client); a unary
CreateTask through the scheduler's servicer called in-process (request decoding,
validation, the store call and its round trip, the reply's encoding; no gRPC
server); and BatchCreateTasks of 500 the same way. Printed: instructions (Ir) of
this process per command, per unary create, per task of a batch. `--against REF`
first runs the same on git ref REF's tree (bench.transition_cost.archived).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.transition_cost import HERE, archived

BATCH = 500
WARM_UP = 20


def counted_ir(dump: Path) -> int:
    """Instructions counted in one dump: its `totals:` line (with counting switched
    on and off, `summary:` is 0)."""
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise ValueError(f"no totals in {dump}")


def collecting(on: bool) -> None:
    """Switch callgrind's counting for this process."""
    switch = ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())]
    subprocess.run(switch, check=True, capture_output=True)


async def counted(loop: Callable[[], Awaitable[object]], times: int) -> None:
    for _ in range(WARM_UP):
        await loop()
    collecting(True)
    for _ in range(times):
        await loop()
    collecting(False)


async def loops(url: str, which: str, times: int) -> None:
    """Runs under callgrind: one of the three loops (the module's text)."""
    from services.scheduler.intake import Intake, Limits
    from services.scheduler.servicer import SchedulerServicer
    from taskflow.redis_runtime import redis_client
    from taskflow.settings import Settings
    from taskflow.store import StoreConfig, TaskStore
    from taskflow.store.schedules import ScheduleStore
    from taskflow.tasks import load_task_modules
    from taskflow.v1 import scheduler_service_pb2 as pb

    settings = Settings()
    load_task_modules(settings.task_modules)
    client = redis_client(url)
    store = TaskStore(client, StoreConfig.from_settings(settings))
    intake = Intake(Limits.from_settings(settings))
    servicer = SchedulerServicer(store, intake, ScheduleStore(client, store.config))
    one = pb.CreateTaskRequest(task_type="noop", content="x").SerializeToString()
    many = pb.BatchCreateTasksRequest(
        tasks=[pb.CreateTaskRequest(task_type="noop", content="x")] * BATCH
    ).SerializeToString()
    sha = await client.script_load("return 1")

    async def command() -> None:
        await client.evalsha(sha, 1, "k", "a")

    async def unary() -> None:
        request = pb.CreateTaskRequest.FromString(one)
        (await servicer.CreateTask(request, None)).SerializeToString()  # type: ignore[arg-type]

    async def batch() -> None:
        request = pb.BatchCreateTasksRequest.FromString(many)
        (await servicer.BatchCreateTasks(request, None)).SerializeToString()  # type: ignore[arg-type]

    await counted({"command": command, "unary": unary, "batch": batch}[which], times)
    await client.aclose()


def measure(tree: Path, url: str, which: str, times: int, per: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={out}", sys.executable, "-m", "bench.create_callgrind",
                "--loop", which, url, str(times),
            ],
            cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)), check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        return sum(counted_ir(dump) for dump in Path(tmp).glob("callgrind.out*")) / (times * per)


def run_tree(label: str, tree: Path, calls: int, batches: int) -> None:
    from bench.common import bundled_server

    with bundled_server() as valkey:
        figures = (
            ("per Redis command", measure(tree, valkey.url, "command", calls, 1)),
            ("per unary create", measure(tree, valkey.url, "unary", calls, 1)),
            (f"per task of a batch of {BATCH}", measure(tree, valkey.url, "batch", batches, BATCH)),
        )
    print(f"  {label}: " + "  ".join(f"{name} {ir:,.0f} Ir" for name, ir in figures), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--against", default="")
    parser.add_argument("--loop", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.loop:
        which, url, times = options.loop
        asyncio.run(loops(url, which, int(times)))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            if options.against:
                tree = archived(options.against, Path(tmp))
                run_tree(options.against, tree, options.calls, options.batches)
            run_tree("this tree", HERE, options.calls, options.batches)
