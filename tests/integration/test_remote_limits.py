"""A remote worker declares its types' limits at Register (WorkerRegistration.limits):
they are stored like our executors' own, and its claims are held to them."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from redis.asyncio import Redis

from taskflow.store.limits import LimitStore
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import worker_service_pb2 as pb
from tests.integration.test_worker_service import (
    REMOTE_TYPE,
    api,
    create,
    read_kind,
    settings,
    task,
    upper_cased,
    workers,
)
from tests.support.stack import SchedulerClient

__all__ = ["api", "settings", "workers"]  # fixtures


async def register_limited(stub: Any, *limits: pb.TaskTypeLimits) -> Any:
    call = stub.Work()
    registration = pb.WorkerRegistration(
        worker_id="limited", task_types=[REMOTE_TYPE], queue="tests", limits=limits
    )
    await call.write(pb.WorkRequest(register=registration))
    return call


async def test_a_remote_types_concurrency_limit_holds_back_the_rest(
    api: SchedulerClient, workers: Any, redis_client: Redis
) -> None:
    call = await register_limited(
        workers, pb.TaskTypeLimits(task_type=REMOTE_TYPE, concurrency_limit=1)
    )
    assert (await read_kind(call, "registered")).worker_id == "limited"
    (use,) = [u for u in await LimitStore(redis_client).read() if u.task_type == REMOTE_TYPE]
    assert (use.task_type, use.limits.concurrency, use.source) == (
        REMOTE_TYPE,
        1,
        "remote worker tests",
    )
    ids = await create(api, "a", "b", "c")
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=3)))
    (first,) = (await read_kind(call, "tasks")).tasks
    others = [await task(api, i) for i in ids if i != first.task_id]
    assert [t.state for t in others] == [enums.TASK_STATE_SCHEDULED] * 2
    assert all(t.retry_count == 0 for t in others)
    await call.write(upper_cased([first]))
    await read_kind(call, "acks")
    call.cancel()


async def test_limits_of_a_type_it_does_not_register_are_refused(workers: Any) -> None:
    call = await register_limited(workers, pb.TaskTypeLimits(task_type="other", rate_limit="1/s"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.read()
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    call = await register_limited(workers, pb.TaskTypeLimits(task_type=REMOTE_TYPE, rate_limit="x"))
    with pytest.raises(grpc.aio.AioRpcError) as malformed:
        await call.read()
    assert malformed.value.code() is grpc.StatusCode.INVALID_ARGUMENT
