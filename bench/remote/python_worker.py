"""A remote worker on the Python SDK that returns at once: one process, for bench.remote_drain.

PYTHONPATH=sdk/python/src python bench/remote/python_worker.py <executor> <concurrency>
"""

import asyncio
import sys

from taskflow_client import TaskContext, Worker

worker = Worker(sys.argv[1], queue="bench", concurrency=int(sys.argv[2]), worker_id="bench-python")


@worker.task("bench_noop")
async def noop(task: TaskContext) -> str:
    return "ok"


asyncio.run(worker.run())
