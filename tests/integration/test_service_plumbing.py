"""What every gRPC service offers besides its API: health, reflection; plus the
scheduler's repair RPC and an executor running several worker processes."""

from __future__ import annotations

from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from redis.asyncio import Redis

from taskflow.redis_server import free_port
from taskflow.store import NewTask, QueueName, TaskState, TaskStore
from taskflow.v1 import executor_service_pb2
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.stack import executor, scheduler, settings_for
from tests.support.waiting import eventually, wait_for_state


async def listed_services(channel: aio.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for response in stub.ServerReflectionInfo(iter([request])):
        return {s.name for s in response.list_services_response.service}
    return set()


async def test_scheduler_serves_health_and_reflection(redis_url: str, redis_client: Redis) -> None:
    async with scheduler(settings_for(redis_url), redis_client) as api:
        health = health_pb2_grpc.HealthStub(api.channel)
        for service in ("", "taskflow.v1.SchedulerService"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        assert "taskflow.v1.SchedulerService" in await listed_services(api.channel)


async def test_requeue_orphaned_tasks_over_grpc(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    created = await store.create_many([NewTask("echo", "x")] * 3)
    await redis_client.delete(store.keys.primary)  # as if an id had been popped and lost
    async with scheduler(settings_for(redis_url), redis_client) as api:
        reply = await api.stub.RequeueOrphanedTasks(pb.RequeueOrphanedTasksRequest())
    assert (reply.found, reply.requeued, list(reply.errors)) == (3, 3, [])
    assert "3" in reply.message
    heads = await store.queue_heads(QueueName.PRIMARY)
    assert sorted(heads) == sorted(c.task_id for c in created)


async def test_executor_with_two_worker_processes(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    settings = settings_for(
        redis_url, TASKFLOW_EXECUTOR_PROCESSES=2, TASKFLOW_EXECUTOR_ID="exec-2p"
    )
    async with executor(settings, redis_client, free_port()) as stub:

        async def two_workers() -> bool:
            status = await stub.GetExecutorStatus(executor_service_pb2.GetExecutorStatusRequest())
            return len({w.pid for w in status.workers}) == 2

        await eventually(two_workers, within=60, what="two worker processes")
        created = await store.create_many([NewTask("sleepy", "0.2")] * 40)
        for c in created:
            await wait_for_state(store, c.task_id, TaskState.COMPLETED, within=60)
        ran_on = {(await store.get(c.task_id)).worker_id for c in created}
        assert len(ran_on) == 2, "both processes should have taken work"
    assert (await store.status()).states[TaskState.ACTIVE] == 0
