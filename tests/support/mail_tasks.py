"""A task type of its own queue (`emails`), loaded only by the executors a routing
test gives it to (TASKFLOW_TASK_MODULES), so other executors lack its handler."""

import asyncio
import os

from taskflow.tasks import TaskContext, task


@task("send_mail", queue="emails")
async def send_mail(ctx: TaskContext) -> str:
    """Appends "<task_id> <pid>" to `metadata.log`: which process sent which mail."""
    await asyncio.to_thread(_append, ctx.metadata["log"], f"{ctx.task_id} {os.getpid()}\n")
    return "sent"


def _append(path: str, line: str) -> None:
    with open(path, "a") as log:
        log.write(line)
