"""Run by tests/sdk/test_python_sdk.py with the interpreter of a fresh venv holding
only the SDK wheel: proves the installed package alone talks to the services.

    python client_check.py <scheduler address> <monitor address>

Prints one JSON object: what got installed, and what the client saw.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import sys

from taskflow_client import (
    InvalidArgument,
    LeaseLost,
    NewTask,
    NotFound,
    ScheduleSpec,
    TaskflowClient,
)


async def schedules(tf: TaskflowClient) -> dict[str, object]:
    """Every schedule call once, on an hourly echo schedule."""
    spec = ScheduleSpec("echo", "tick", metadata={"from": "sdk"}, interval=3600, overlap="SKIP")
    made = await tf.schedules.create(spec)
    listed = [s.schedule_id for s in await tf.schedules.list()]
    changed = await tf.schedules.update(
        made.schedule_id, ScheduleSpec("echo", "tock", cron="0 * * * *")
    )
    paused = await tf.schedules.pause(made.schedule_id)
    resumed = await tf.schedules.resume(made.schedule_id)
    fired = await tf.schedules.trigger(made.schedule_id)
    async with asyncio.timeout(30):
        ran = await tf.wait(fired)
    read = await tf.schedules.get(made.schedule_id)
    await tf.schedules.delete(made.schedule_id)
    try:
        await tf.schedules.get(made.schedule_id)
        gone = False
    except NotFound:
        gone = True
    return {
        "created": [made.spec.interval, made.spec.overlap, dict(made.spec.metadata), made.paused],
        "listed": made.schedule_id in listed,
        "updated": [changed.spec.content, changed.spec.cron, changed.spec.interval],
        "paused": [paused.paused, paused.next_fire_at is None],
        "resumed": [resumed.paused, resumed.next_fire_at is not None],
        "triggered": [ran.state, ran.result, read.last_task_id == fired, read.fire_count],
        "deleted": gone,
    }


async def cancel(tf: TaskflowClient) -> list[str]:
    """A task cancelled while SCHEDULED (due in an hour), then cancelled again."""
    created = await tf.create("echo", "never", delay=3600)
    first = await tf.cancel(created.task_id)
    try:
        await tf.cancel(created.task_id)
        again = "accepted"
    except LeaseLost:
        again = "refused"
    return [first, (await tf.get(created.task_id)).state, again]


async def main(scheduler: str, monitor: str) -> dict[str, object]:
    async with TaskflowClient(scheduler, monitor_address=monitor) as tf:
        one = await tf.create("echo", "hello from the sdk", metadata={"client": "sdk"})
        again = await tf.create("echo", "ignored", idempotency_key="k1")
        same = await tf.create("echo", "ignored", idempotency_key="k1")
        many = await tf.create_many([NewTask("echo", f"item {i}") for i in range(3)])
        pending = await tf.get(one.task_id)
        async with asyncio.timeout(30):
            done = await tf.wait(one.task_id)
            results = [(await tf.wait(c.task_id)).result for c in many]
            ran = await tf.run("echo", "run and wait")
        scheduled = await schedules(tf)
        cancelled = await cancel(tf)
        errors = []
        try:
            await tf.create("no_such_type", "x")
        except InvalidArgument as error:
            errors.append(type(error).__name__)
        try:
            await tf.get("00000000-0000-4000-8000-000000000000")
        except NotFound as error:
            errors.append(type(error).__name__)
    return {
        "installed": sorted(
            d.metadata["Name"].lower().replace("_", "-") for d in importlib.metadata.distributions()
        ),
        "services_importable": importlib.util.find_spec("taskflow") is not None,
        "first_state": pending.state,
        "done": {"state": done.state, "result": done.result, "metadata": done.metadata},
        "idempotent": [again.created, same.created, again.task_id == same.task_id],
        "batch_results": results,
        "ran": [ran.state, ran.result],
        "errors": errors,
        "schedules": scheduled,
        "cancelled": cancelled,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
