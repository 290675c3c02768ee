"""A remote worker on the Python SDK that returns at once: one process, for bench.remote_drain.

PYTHONPATH=sdk/python/src python bench/remote/python_worker.py <executor> <concurrency> [<prefetch>]
"""

import asyncio
import sys

from taskflow_client import TaskContext, Worker

address, concurrency = sys.argv[1], int(sys.argv[2])
prefetch = int(sys.argv[3]) if len(sys.argv) > 3 else 0
worker = Worker(
    address, queue="bench", concurrency=concurrency, prefetch=prefetch, worker_id="bench-python"
)


@worker.task("bench_noop")
async def noop(task: TaskContext) -> str:
    return "ok"


asyncio.run(worker.run())
