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

from taskflow_client import InvalidArgument, NewTask, NotFound, TaskflowClient


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
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
