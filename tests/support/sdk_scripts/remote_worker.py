"""A remote worker built on the installed SDK only, run by tests/sdk/ as a process.

    python remote_worker.py <executor address> <side-effect file> [--hang] [--prefetch=N]

Handles `sdk_shout` (upper-cases the content) on the queue "sdk". Every handler run
appends `start <id>` to the side-effect file when it begins and `done <id>` just
before it returns, so a test can count exactly how often each task's work was done.
With --hang, tasks whose content is "hang" never finish (to be SIGKILLed mid-task).
Content "fail" raises a RateLimitError once, then succeeds on the retry. Content
"wait" reports progress 0.5 "halfway", writes `waiting <id>`, then waits until the
task is cancelled (writing `cancelled <id>`). Content "hold" writes `holding <id>`
and finishes once the file holds `go <id>`. Content
"payload" answers "<size> <sha256>" of the task's payload. The type declares a rate
limit of 1000/s, which no test reaches. With --prefetch=N it holds N tasks beyond its
4 slots.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from pathlib import Path

from taskflow_client import TaskContext, TaskError, Worker

address, effects = sys.argv[1], Path(sys.argv[2])
hang = "--hang" in sys.argv[3:]
prefetch = next((int(f.split("=")[1]) for f in sys.argv[3:] if f.startswith("--prefetch=")), 0)
worker = Worker(address, queue="sdk", concurrency=4, prefetch=prefetch, worker_id=effects.stem)


def record(line: str) -> None:
    with effects.open("a") as out:
        out.write(line + "\n")
        out.flush()


# A rate no test reaches: it proves the limit is declared at Register.
@worker.task("sdk_shout", rate_limit="1000/s")
async def shout(task: TaskContext) -> str:
    record(f"start {task.task_id}")
    task.log(f"shouting {len(task.content)} characters")
    if task.content == "payload":
        data = await task.payload()
        return f"{len(data)} {hashlib.sha256(data).hexdigest()}"
    if task.content == "wait":
        await wait_for_cancel(task)
    if task.content == "hold":
        record(f"holding {task.task_id}")
        await asyncio.to_thread(wait_for_line, f"go {task.task_id}")
    if hang and task.content == "hang":
        await asyncio.Event().wait()
    if task.content == "fail" and task.retry_count == 0:
        raise TaskError("slow down", "RateLimitError")
    record(f"done {task.task_id}")
    return task.content.upper()


def wait_for_line(line: str) -> None:
    while line not in effects.read_text().splitlines():
        time.sleep(0.05)


async def wait_for_cancel(task: TaskContext) -> None:
    task.progress(0.5, "halfway")
    record(f"waiting {task.task_id}")
    try:
        await asyncio.Event().wait()
    finally:
        if task.cancelled:
            record(f"cancelled {task.task_id}")


if __name__ == "__main__":
    asyncio.run(worker.run())
