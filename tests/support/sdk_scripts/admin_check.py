"""Run by tests/sdk/test_python_sdk.py with the interpreter of a fresh venv holding
only the SDK wheel: the task actions beside create/wait (retry, delete, logs,
cancel_many) and `.admin` (DLQ, corrupt ids, cleanup, orphans, queue ids), of
TaskflowClient, or with `sync` of TaskflowSyncClient (each blocking call made in a
thread, so both clients go through the very same checks).

    python admin_check.py <scheduler address> <monitor address> [sync]

Prints one JSON object: what the client saw.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from taskflow_client import (
    InvalidArgument,
    LeaseLost,
    NotFound,
    TaskflowClient,
    TaskflowSyncClient,
)


class Blocking:
    """A blocking client (or its `.admin`) behind the async client's interface."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name == "admin":
            return Blocking(value)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(value, *args, **kwargs)

        return call

    async def __aenter__(self) -> Blocking:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._target.close()


async def main(scheduler: str, monitor: str, sync: bool) -> None:
    seen: dict[str, object] = {}
    client: Any = (
        Blocking(TaskflowSyncClient(scheduler, monitor_address=monitor))
        if sync
        else TaskflowClient(scheduler, monitor_address=monitor)
    )
    async with client as tf, asyncio.timeout(90):
        doomed = [(await tf.create("doomed", f"d{i}")).task_id for i in range(2)]
        for task_id in doomed:
            await tf.wait(task_id)
        dlq = await tf.admin.list_dlq()
        seen["dlq"] = sorted(t.task_id for t in dlq) == sorted(doomed)
        listed = await tf.list("dlq", task_type="doomed", page_size=1, oldest_first=True)
        seen["list"] = [[t.task_id for t in listed.tasks] == doomed[:1], listed.total_items]
        seen["list_pages"] = [listed.page, listed.total_pages]
        types = {t.name: t for t in await tf.task_types()}
        seen["types"] = [types["noop"].builtin, types["doomed"].builtin]
        seen["retry"] = await tf.retry(doomed[0], reset_retry_count=True)
        await tf.wait(doomed[0])
        seen["retried_all"] = await tf.admin.retry_all_dlq()
        for task_id in doomed:
            await tf.wait(task_id)
        seen["purged"] = await tf.admin.purge_dlq()
        seen["dlq_after_purge"] = len(await tf.admin.list_dlq())

        chatty = (await tf.create("chatty", "2:0")).task_id
        await tf.wait(chatty)
        page = await tf.logs(chatty)
        seen["logs"] = [(line.seq, line.level, line.message) for line in page.lines]
        rest = await tf.logs(chatty, after_seq=page.next_after_seq)
        seen["logs_after"] = [len(rest.lines), rest.more]
        try:
            await tf.retry(chatty)
        except LeaseLost:
            seen["retry_completed"] = "refused"
        await tf.delete(chatty)
        try:
            await tf.get(chatty)
        except NotFound:
            seen["deleted"] = True

        later = [(await tf.create("echo", "x", delay=3600)).task_id for _ in range(3)]
        seen["queue_ids"] = sorted(await tf.admin.queue_ids("scheduled")) == sorted(later)
        counted = await tf.cancel_many(["scheduled"])
        seen["cancel_many"] = [counted.cancelled, counted.cancel_requested]
        seen["cleanup_young"] = await tf.admin.cleanup(
            ["cancelled"], created_before=datetime.now(UTC) - timedelta(hours=1)
        )
        seen["cleanup"] = await tf.admin.cleanup(["CANCELLED"])
        gone = 0
        for task_id in later:
            try:
                await tf.get(task_id)
            except NotFound:
                gone += 1
        seen["cleaned_up"] = gone
        seen["requeued"] = await tf.admin.requeue_orphaned()
        corrupt = await tf.admin.list_corrupt()
        seen["corrupt"] = [corrupt.total, corrupt.tasks]
        seen["dropped"] = await tf.admin.drop_corrupt(["not-set-aside"])
        refused = []
        for call in (
            tf.admin.cleanup(),
            tf.admin.queue_ids("nowhere"),
            tf.delete("0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11"),
        ):
            try:
                await call
            except (InvalidArgument, NotFound) as error:
                refused.append(type(error).__name__)
        seen["refused"] = refused
        try:
            await tf.admin.cleanup(["sleeping"])
        except ValueError as error:
            seen["bad_state"] = str(error)
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:] == ["sync"]))
