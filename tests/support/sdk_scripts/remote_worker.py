"""A remote worker built on the installed SDK only, run by tests/sdk/ as a process.

    python remote_worker.py <executor address> <side-effect file> [--hang]

Handles `sdk_shout` (upper-cases the content) on the queue "sdk". Every handler run
appends `start <id>` to the side-effect file when it begins and `done <id>` just
before it returns, so a test can count exactly how often each task's work was done.
With --hang, tasks whose content is "hang" never finish (to be SIGKILLed mid-task).
Content "fail" raises a RateLimitError once, then succeeds on the retry.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from taskflow_client import TaskContext, TaskError, Worker

address, effects = sys.argv[1], Path(sys.argv[2])
hang = "--hang" in sys.argv[3:]
worker = Worker(address, queue="sdk", concurrency=4, worker_id=effects.stem)


def record(line: str) -> None:
    with effects.open("a") as out:
        out.write(line + "\n")
        out.flush()


@worker.task("sdk_shout")
async def shout(task: TaskContext) -> str:
    record(f"start {task.task_id}")
    task.log(f"shouting {len(task.content)} characters")
    if hang and task.content == "hang":
        await asyncio.Event().wait()
    if task.content == "fail" and task.retry_count == 0:
        raise TaskError("slow down", "RateLimitError")
    record(f"done {task.task_id}")
    return task.content.upper()


if __name__ == "__main__":
    asyncio.run(worker.run())
