"""Sampling a running executor process with py-spy, and where its time went.

py-spy comes from the benchmark's own environment (build/bench-env). It samples
without pausing the process (--nonblocking) and counts idle samples too (--idle),
so time spent waiting for Redis shows up as the event loop's select().
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATE_HZ = 250
# Only the event loop's thread is counted (gRPC keeps idle threads of its own).
LOOP = "BaseEventLoop._run_once (asyncio/base_events.py"
# Samples spent here are the event loop with nothing to run: waiting for Redis.
IDLE_LEAF = "EpollSelector.select (selectors.py"
# Frames every loop stack passes through; their inclusive time says nothing.
ROOTS = ("<module> (", "_run_module_as_main (", "_run_code (", "run (asyncio/",
         "Runner.run (", "run_until_complete (", "run_forever (", LOOP, "Handle._run (",
         "run_service (", "_serve (", "main (")  # fmt: skip
# Named groups of frames, each counted once per sample that passes through it.
GROUPS = {
    "claim: TaskStore.claim (script call, building Task values)": "TaskStore.claim (",
    "  of which Task.from_hash (claimed hashes to Task values)": "Task.from_hash (",
    "complete: TaskStore.complete_many (script call)": "TaskStore.complete_many (",
    "redis-py: packing commands (pack_command, encode)": ".pack_command (",
    "redis-py + hiredis: reading replies": ".read_response (",
    "running a task: Worker._execute (handler, completer wait)": "Worker._execute (",
    "  of which the handler call (Worker._call_handler)": "Worker._call_handler (",
    "logging": "(logging/",
    "heartbeat, pause flag": "Worker._heartbeat_loop (",
}


class Recording:
    """py-spy record attached to `pid` until stop(); the raw (collapsed) stacks land in `out`."""

    def __init__(self, py_spy: Path, pid: int, out: Path) -> None:
        self.command = [str(py_spy), "record", "--pid", str(pid), "--rate", str(RATE_HZ),
                        "--nonblocking", "--idle", "--format", "raw",
                        "--output", str(out)]  # fmt: skip
        self.out = out
        self._process: asyncio.subprocess.Process | None = None

    @property
    def started(self) -> bool:
        return self._process is not None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self.command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )

    async def stop(self) -> None:
        """SIGINT makes py-spy write what it has."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGINT)
        await self._process.wait()


def read_stacks(lines: Iterable[str]) -> Counter[tuple[str, ...]]:
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(_short(frame) for frame in stack.split(";"))] += int(count)
    return stacks


def _short(frame: str) -> str:
    """'name (/long/path/site-packages/redis/connection.py:123)' -> 'name (redis/connection.py'."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3.11/", f"{ROOT}/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    parts = path.split("/")
    return f"{name} ({'/'.join(parts[-2:]) if len(parts) > 1 else path}"


def summary(path: Path, top: int = 15) -> list[str]:
    """Lines describing where the samples went: idle share, groups, hottest own frames."""
    stacks = read_stacks(path.read_text().splitlines())
    stacks = Counter({stack: n for stack, n in stacks.items() if LOOP in stack})
    total = sum(stacks.values())
    if not total:
        return ["py-spy recorded no samples"]
    idle = sum(n for stack, n in stacks.items() if stack[-1].startswith(IDLE_LEAF))
    lines = [f"{total:,} samples of the event loop at {RATE_HZ} Hz; "
             f"waiting in select() (idle): {idle / total:.0%}"]  # fmt: skip
    for label, marker in GROUPS.items():
        hits = sum(n for stack, n in stacks.items() if any(marker in f for f in stack))
        lines.append(f"  {label:<60} {hits / total:>5.1%}")
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, n in stacks.items():
        own[stack[-1]] += n
        for frame in set(stack):
            if not any(frame.startswith(root) for root in ROOTS):
                inclusive[frame] += n
    lines.append("  own time (leaf frame):")
    lines += [f"    {n / total:>5.1%}  {frame}" for frame, n in own.most_common(top)]
    # Frames in every sample (however the process was started) say nothing either.
    telling = Counter({frame: n for frame, n in inclusive.items() if n < total})
    lines.append("  inclusive time:")
    lines += [f"    {n / total:>5.1%}  {frame}" for frame, n in telling.most_common(top)]
    return lines
