"""The baseline the gateway is measured against: a FastAPI app that creates a task by
writing Redis itself, as the original system did (contract §3: the task hash, the
pending list, the state counter and the `queue-updates` event, in one MULTI).

    REDIS_URL=redis://... uvicorn bench.compare.fastapi_direct:app --port 8001

Only the create endpoint exists. Its keys carry a `direct:` prefix so a run never
touches the store's own keys; bench/gateway.py starts it under the same uvicorn
settings as the gateway (one process, the default event loop and HTTP parser).
"""

import json
import os
import uuid
from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from taskflow.gc_tuning import freeze_startup_heap

PREFIX = "direct:"
redis = Redis.from_url(os.environ["REDIS_URL"])
app = FastAPI(title="direct-to-Redis baseline")


class SummarizeBody(BaseModel):
    content: str = Field(min_length=1)


@app.post("/api/v1/tasks/summarize/", status_code=201)
async def create_summarize(body: SummarizeBody) -> dict[str, str]:
    task_id = str(uuid.uuid4())
    now = datetime.now(UTC).isoformat()
    history = json.dumps([{"state": "PENDING", "timestamp": now}])
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            f"{PREFIX}task:{task_id}",
            mapping={
                "task_id": task_id,
                "task_type": "summarize",
                "state": "PENDING",
                "content": body.content,
                "retry_count": 0,
                "max_retries": 3,
                "last_error": "",
                "error_type": "",
                "created_at": now,
                "updated_at": now,
                "error_history": "[]",
                "state_history": history,
            },
        )
        pipe.incr(f"{PREFIX}metrics:tasks:state:pending")
        pipe.rpush(f"{PREFIX}tasks:pending:primary", task_id)
        pipe.publish(
            f"{PREFIX}queue-updates",
            json.dumps({"type": "task_created", "task_id": task_id, "timestamp": now}),
        )
        await pipe.execute()
    return {"task_id": task_id, "state": "PENDING"}


# The gateway's own tuning (taskflow/gc_tuning.py), so the two are compared like
# for like: what exists once the app is built is never rescanned by the collector.
freeze_startup_heap()
