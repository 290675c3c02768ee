"""MonitorService snapshots: O(1) queue status, workers, health, the provider.
(The live streams are in test_monitor_streams.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.store.breaker import BreakerConfig, CircuitBreakerStore
from taskflow.store.workers import WorkerRegistry
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import monitor_service_pb2 as pb
from tests.support.stack import MonitorClient, monitor, settings_for

# With the test settings' 0.2 s heartbeat, a worker is stale after the 1 s floor.
STALE_AFTER_S = 1.0


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[MonitorClient]:
    async with monitor(settings_for(redis_url), redis_client) as client:
        yield client


@pytest.fixture
def registry(store: TaskStore) -> WorkerRegistry:
    return WorkerRegistry(store.client, store.keys)


@pytest.fixture
def breakers(store: TaskStore) -> CircuitBreakerStore:
    return CircuitBreakerStore(store.client, BreakerConfig(), store.keys.prefix)


async def test_queue_status_is_the_counters(api: MonitorClient, store: TaskStore) -> None:
    await store.create_many([NewTask("echo", "x")] * 5)
    claims = await store.claim("w", 2)
    await store.complete(claims[0], "ok")
    status = await api.stub.GetQueueStatus(pb.GetQueueStatusRequest())
    expected = await store.status()
    assert (status.queues.primary, status.queues.retry, status.queues.dlq) == (3, 0, 0)
    assert (status.states.pending, status.states.active, status.states.completed) == (3, 1, 1)
    assert {s.value.lower(): getattr(status.states, s.value.lower()) for s in TaskState} == {
        s.value.lower(): n for s, n in expected.states.items()
    }
    assert status.retry_ratio == pytest.approx(expected.retry_ratio)
    assert status.HasField("timestamp")


async def test_workers_healthy_then_stale(
    api: MonitorClient, store: TaskStore, registry: WorkerRegistry
) -> None:
    await registry.beat("w-quiet", {"pid": 12}, ttl_s=30)  # key alive, heartbeat old
    await registry.beat("w-expired", {"pid": 13}, ttl_s=1)  # key expired
    await asyncio.sleep(STALE_AFTER_S + 0.2)
    info: dict[str, str | int] = {
        "pid": 11,
        "concurrency": 4,
        "hostname": "h",
        "started_at": "1700000000.5",
    }
    await registry.beat("w-ok", info, ttl_s=30)
    await store.create_many([NewTask("echo", "x")] * 3)
    first, second, held = await store.claim("w-ok", 3)
    await store.complete(first, "ok")
    await store.fail(second, "bad", "PermanentError", permanent=True)

    view = await api.stub.ListWorkers(pb.ListWorkersRequest())
    assert (view.total_workers, view.healthy_workers, view.stale_workers) == (3, 1, 2)
    assert view.overall_status == enums.HEALTH_STATUS_DEGRADED
    by_id = {w.worker_id: w for w in view.worker_details}
    ok = by_id["w-ok"]
    assert ok.status == enums.WORKER_HEALTH_HEALTHY
    assert (ok.success_count, ok.failure_count) == (1, 1)
    assert list(ok.active_task_ids) == [held.task_id]
    assert (ok.pid, ok.concurrency, ok.hostname) == (11, 4, "h")
    assert ok.started_at.seconds == 1700000000
    assert ok.seconds_since_heartbeat < STALE_AFTER_S
    assert by_id["w-quiet"].status == enums.WORKER_HEALTH_STALE
    assert by_id["w-quiet"].seconds_since_heartbeat > STALE_AFTER_S
    assert by_id["w-expired"].status == enums.WORKER_HEALTH_STALE
    assert dict(view.circuit_breaker_states) == {}


async def test_workers_show_the_breaker_states(
    api: MonitorClient, registry: WorkerRegistry, breakers: CircuitBreakerStore
) -> None:
    await registry.beat("w", {"pid": 1}, ttl_s=30)
    await breakers.open("openrouter")
    view = await api.stub.ListWorkers(pb.ListWorkersRequest())
    assert view.overall_status == enums.HEALTH_STATUS_HEALTHY
    assert dict(view.circuit_breaker_states) == {"openrouter": enums.CIRCUIT_STATE_OPEN}
    assert view.worker_details[0].circuit_breaker_state == enums.CIRCUIT_STATE_OPEN


async def test_health_serving_and_system_health(
    api: MonitorClient, registry: WorkerRegistry, breakers: CircuitBreakerStore
) -> None:
    health = health_pb2_grpc.HealthStub(api.channel)
    for service in ("", "taskflow.v1.MonitorService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    system = await api.stub.GetSystemHealth(pb.GetSystemHealthRequest())
    assert system.components["redis"].status == enums.HEALTH_STATUS_HEALTHY
    assert system.components["workers"].status == enums.HEALTH_STATUS_DEGRADED
    assert system.status == enums.HEALTH_STATUS_DEGRADED  # no workers yet

    await registry.beat("w", {"pid": 1}, ttl_s=30)
    system = await api.stub.GetSystemHealth(pb.GetSystemHealthRequest())
    assert system.status == enums.HEALTH_STATUS_HEALTHY

    await breakers.open("openrouter")
    system = await api.stub.GetSystemHealth(pb.GetSystemHealthRequest())
    assert system.components["circuit_breaker"].status == enums.HEALTH_STATUS_DEGRADED
    assert system.status == enums.HEALTH_STATUS_DEGRADED


async def test_provider_status_and_metrics_without_a_key(api: MonitorClient) -> None:
    status = await api.stub.GetProviderStatus(pb.GetProviderStatusRequest())
    assert status.status == enums.PROVIDER_STATE_API_KEY_MISSING
    assert not status.circuit_breaker_open
    metrics = await api.stub.GetProviderMetrics(pb.GetProviderMetricsRequest(days=3))
    dates = [day.date for day in metrics.days]
    assert len(dates) == 3
    assert dates == sorted(dates, reverse=True), "newest first"
    assert all(day.total_calls == 0 for day in metrics.days)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.stub.GetProviderMetrics(pb.GetProviderMetricsRequest(days=-1))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
