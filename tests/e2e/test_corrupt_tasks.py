"""`tasks:corrupt` end to end: a real executor's claim sets a task whose stored
fields are malformed aside; an operator sees it (with what is left of its hash)
over gRPC, REST through the transcoder and the CLI, and drops it."""

from __future__ import annotations

import json
import uuid

import grpc
import httpx
import pytest
from grpc import aio
from redis.asyncio import Redis

from taskflow.store import StoreConfig, TaskStore
from taskflow.v1 import monitor_service_pb2, monitor_service_pb2_grpc, scheduler_service_pb2_grpc
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.e2e.conftest import MODULE_LOOP
from tests.support.cli import clean_env, taskflow
from tests.support.gateway_stack import GatewayStack, create_task, paused_executors, wait_for_state
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually

pytestmark = MODULE_LOOP


async def _set_aside(http: httpx.AsyncClient) -> int:
    return int((await http.get("/api/v1/queues/status")).json()["corrupt_tasks"])


async def test_a_malformed_task_is_set_aside_seen_everywhere_and_dropped(
    stack: GatewayStack, http: httpx.AsyncClient, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url)
    try:
        async with paused_executors(http, redis_url):
            no_time, bad_state, good = [await create_task(http, "echo", n) for n in "abc"]
            await redis.hset(f"task:{no_time}", "created_us", "")
            await redis.hset(f"task:{bad_state}", "state", "LIMBO")
        assert await _set_aside(http) == 0
        # The executor claims all three: the good one runs, the two are set aside.
        await wait_for_state(http, good, "COMPLETED")
        await eventually(lambda: _answers(http, 2), within=60, what="two ids set aside")
        assert await redis.hget(f"task:{no_time}", "created_us") == b""

        # gRPC: the count in the queue status, the ids with their hashes, newest first.
        settings = stack.settings
        async with aio.insecure_channel(settings.monitor_address) as channel:
            monitor = monitor_service_pb2_grpc.MonitorServiceStub(channel)
            status = await monitor.GetQueueStatus(monitor_service_pb2.GetQueueStatusRequest())
        assert status.corrupt_tasks == 2
        async with aio.insecure_channel(settings.scheduler_address) as channel:
            scheduler = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
            listed = await scheduler.ListCorruptTasks(pb.ListCorruptTasksRequest())
            assert listed.total == 2
            assert {e.task_id for e in listed.tasks} == {no_time, bad_state}
            fields = {e.task_id: dict(e.fields) for e in listed.tasks}
            assert fields[no_time]["created_us"] == ""
            assert fields[no_time]["content"] == "a"
            assert fields[bad_state]["state"] == "LIMBO"
            one = await scheduler.ListCorruptTasks(pb.ListCorruptTasksRequest(limit=1))
            assert (len(one.tasks), one.total) == (1, 2)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await scheduler.ListCorruptTasks(pb.ListCorruptTasksRequest(limit=5000))
            assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT

        # REST through the transcoder: proto JSON.
        body = (await http.get("/api/v1/queues/corrupt")).json()
        assert body["total"] == "2"
        assert {e["task_id"]: e["fields"]["state"] for e in body["tasks"]}[bad_state] == "LIMBO"
        refused_rest = await http.get("/api/v1/queues/corrupt", params={"limit": 5000})
        assert refused_rest.status_code == 422
        assert "limit" in refused_rest.json()["detail"]

        # The CLI lists them, then drops what it listed.
        env = clean_env() | {
            "TASKFLOW_SCHEDULER_ADDRESS": settings.scheduler_address,
            "TASKFLOW_MONITOR_ADDRESS": settings.monitor_address,
            "TASKFLOW_EXECUTOR_ADDRESS": settings.executor_address,
        }
        shown = await taskflow("tasks", "corrupt", env=env)
        assert shown.code == 0, shown.err
        assert "Set aside as corrupt: 2" in shown.out
        assert no_time in shown.out
        assert "state='LIMBO'" in shown.out
        status_out = await taskflow("status", env=env)
        assert "Corrupt: 2 set aside" in status_out.out
        as_json = await taskflow("tasks", "corrupt", "--json", env=env)
        assert json.loads(as_json.out)["total"] == "2"

        # Drop one by id over REST, the other with the CLI: one atomic step each.
        reply = await http.post("/api/v1/queues/corrupt/drop", json={"task_ids": [bad_state]})
        assert reply.json() == {"dropped": "1"}
        assert await _set_aside(http) == 1
        dropped = await taskflow("tasks", "corrupt", "--drop", env=env)
        assert dropped.code == 0, dropped.err
        assert "dropped 1 of them" in dropped.out + dropped.err
        assert await _set_aside(http) == 0
        assert (await http.get("/api/v1/queues/corrupt")).json() == {"tasks": [], "total": "0"}
        # What is left of the hashes stays for the operator.
        assert await redis.hget(f"task:{bad_state}", "state") == b"LIMBO"
    finally:
        await redis.aclose()


async def _answers(http: httpx.AsyncClient, count: int) -> bool:
    return await _set_aside(http) == count


async def test_what_is_left_of_a_malformed_task_is_deleted_through_the_api(
    stack: GatewayStack, http: httpx.AsyncClient, redis_url: str
) -> None:
    """A claim sets two malformed tasks aside; one is dropped from the list first
    (what an operator did before: its hash stayed), then both hashes go, one over
    gRPC DeleteTask, one over REST DELETE, and the counters equal a SCAN again."""
    redis = Redis.from_url(redis_url)
    store = TaskStore(redis, StoreConfig())
    try:
        uncounted = str(uuid.uuid4())
        async with paused_executors(http, redis_url):
            counted, good = [await create_task(http, "echo", n) for n in "ab"]
            await redis.hset(f"task:{counted}", "retry_count", "many")
            # Written by hand: counted in no state, so deleting it decrements nothing.
            await redis.hset(f"task:{uncounted}", mapping={"state": "LIMBO", "content": "?"})
            await redis.lpush("tasks:pending:primary", uncounted)
        await wait_for_state(http, good, "COMPLETED")
        await eventually(lambda: _answers(http, 2), within=60, what="two ids set aside")
        reply = await http.post("/api/v1/queues/corrupt/drop", json={"task_ids": [counted]})
        assert reply.json() == {"dropped": "1"}
        assert await redis.exists(f"task:{counted}") == 1

        async with aio.insecure_channel(stack.settings.scheduler_address) as channel:
            scheduler = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
            done = await scheduler.DeleteTask(pb.DeleteTaskRequest(task_id=counted))
            assert "was PENDING" in done.message
            with pytest.raises(grpc.aio.AioRpcError) as again:
                await scheduler.DeleteTask(pb.DeleteTaskRequest(task_id=counted))
            assert again.value.code() is grpc.StatusCode.NOT_FOUND
        rest = await http.delete(f"/api/v1/tasks/{uncounted}")
        assert rest.status_code == 200, rest.text
        assert (await http.delete(f"/api/v1/tasks/{uncounted}")).status_code == 404

        assert await _set_aside(http) == 0
        for task_id in (counted, uncounted):
            assert await redis.exists(f"task:{task_id}", f"task:{task_id}:payload") == 0
            assert (await http.get(f"/api/v1/tasks/{task_id}")).status_code == 404
        await assert_counters_match_hashes(redis, store)
    finally:
        await redis.aclose()
