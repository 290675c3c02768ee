"""A held task's binary payload, for the worker holding it (WorkerService.GetTaskPayload).

Read in one transaction with the task's state and lease token, so only the worker
that holds the task under that lease gets its input: the same fencing as an
outcome, checked before any byte leaves.
"""

from __future__ import annotations

from taskflow.errors import LeaseLost, NotFound
from taskflow.store.replies import text as _text
from taskflow.store.tasks import TaskStore, check_task_id


async def held_payload(store: TaskStore, task_id: str, lease_token: str) -> bytes:
    """The payload of an ACTIVE task held under `lease_token` (b'' when it has none);
    LeaseLost when that lease is no longer held, NotFound when the task is gone."""
    check_task_id(task_id)
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.hmget(store.keys.task(task_id), ["state", "lease_token"])
        pipe.get(store.keys.payload(task_id))
        (state, token), payload = await pipe.execute()
    if state is None:
        raise NotFound(f"task {task_id} does not exist")
    if _text(state) != "ACTIVE" or not lease_token or _text(token or b"") != lease_token:
        raise LeaseLost(f"task {task_id} is no longer held with this lease")
    return payload.encode() if isinstance(payload, str) else bytes(payload or b"")
