"""A worker in its own process: runs tasks of type "reverse" from the queue "python".

python worker.py     (TASKFLOW_EXECUTOR_ADDRESS, default 127.0.0.1:50052)
"""

import asyncio
import os

from taskflow_client import PermanentError, TaskContext, Worker

worker = Worker(os.environ.get("TASKFLOW_EXECUTOR_ADDRESS", "127.0.0.1:50052"), queue="python")


@worker.task("reverse")
async def reverse(task: TaskContext) -> str:
    if not task.content:
        raise PermanentError("nothing to reverse")  # -> DLQ, no retry
    return task.content[::-1]


asyncio.run(worker.run())  # until SIGTERM/SIGINT: finishes running tasks, hands back the rest
