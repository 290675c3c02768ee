"""Run by tests/sdk/test_python_sdk.py with the interpreter of a fresh venv holding
only the SDK wheel: the blocking client (TaskflowSyncClient), no event loop.

    python sync_client_check.py <scheduler address> <monitor address>

Prints one JSON object: what the client saw.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from taskflow_client import InvalidArgument, LeaseLost, NewTask, NotFound, TaskflowSyncClient


def main(scheduler: str, monitor: str) -> dict[str, object]:
    with TaskflowSyncClient(scheduler, monitor_address=monitor) as tf:
        one = tf.create("echo", "hello, blocking", metadata={"client": "sync"})
        again = tf.create("echo", "ignored", idempotency_key="s1")
        same = tf.create("echo", "ignored", idempotency_key="s1")
        many = tf.create_many([NewTask("echo", f"item {i}") for i in range(3)])
        done = tf.wait(one.task_id, timeout=30)
        results = [tf.wait(c.task_id, timeout=30).result for c in many]
        ran = tf.run("echo", "run and wait")
        with ThreadPoolExecutor(8) as threads:  # one client shared by threads
            shared = list(threads.map(lambda n: tf.create("echo", f"t{n}").task_id, range(16)))
        later = tf.create("echo", "never", delay=3600)
        cancelled = [tf.cancel(later.task_id), tf.get(later.task_id).state]
        errors = []
        for call in (
            lambda: tf.create("no_such_type", "x"),
            lambda: tf.get("00000000-0000-4000-8000-000000000000"),
            lambda: tf.cancel(later.task_id),
            lambda: tf.wait(tf.create("echo", "in an hour", delay=3600).task_id, timeout=0.5),
        ):
            try:
                call()
            except (InvalidArgument, NotFound, LeaseLost) as error:
                errors.append(type(error).__name__)
            except Exception as error:  # the deadline: a TaskflowError with its code
                errors.append(f"{type(error).__name__} {getattr(error, 'code', None)}")
    return {
        "done": {"state": done.state, "result": done.result, "metadata": done.metadata},
        "idempotent": [again.created, same.created, again.task_id == same.task_id],
        "batch_results": results,
        "ran": [ran.state, ran.result],
        "shared": len(set(shared)),
        "cancelled": cancelled,
        "errors": errors,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
