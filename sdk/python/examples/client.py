"""A Python service creating a task and waiting for its result.

python client.py     (TASKFLOW_SCHEDULER_ADDRESS / TASKFLOW_MONITOR_ADDRESS)
"""

import asyncio
import json
import os

from taskflow_client import TaskflowClient


async def main() -> None:
    async with TaskflowClient(
        os.environ.get("TASKFLOW_SCHEDULER_ADDRESS", "127.0.0.1:50051"),
        monitor_address=os.environ.get("TASKFLOW_MONITOR_ADDRESS", "127.0.0.1:50053"),
    ) as client:
        task = await client.run("summarize", "Redis is fast. gRPC is typed. Both are here.")
        print(json.dumps({"id": task.task_id, "state": task.state, "result": task.result}))


asyncio.run(main())
