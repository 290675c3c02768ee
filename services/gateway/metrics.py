"""Prometheus metrics at /metrics: requests and latencies by route template and
status, plus task and queue gauges read from MonitorService at scrape time."""

from __future__ import annotations

import logging
import time

import grpc
from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway import shapes
from services.gateway.clients import Rpc
from services.gateway.deps import GatewayRpc
from taskflow.v1 import monitor_service_pb2 as monitor_pb

log = logging.getLogger(__name__)
UNMATCHED = "unmatched"


class GatewayMetrics:
    """The metrics of one app (its own registry, so several apps can share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "taskflow_gateway_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "taskflow_gateway_request_duration_seconds",
            "Time to answer an HTTP request (a stream: how long it stayed open)",
            ["method", "route"],
            registry=self.registry,
        )
        self.tasks = Gauge(
            "taskflow_tasks", "Tasks in each state", ["state"], registry=self.registry
        )
        self.queue_depth = Gauge(
            "taskflow_queue_depth", "Task ids in each queue", ["queue"], registry=self.registry
        )
        # Named queues (docs/state-machine.md, Queues): label values are queue names
        # and task types, both bounded by what the deployment declares.
        self.named_depth = Gauge(
            "taskflow_named_queue_depth",
            "Task ids waiting in each named queue, by list (primary: new work, all "
            "priorities; retry; waiting: no running worker of the queue can run them)",
            ["queue", "list"],
            registry=self.registry,
        )
        self.named_waiting = Gauge(
            "taskflow_named_queue_waiting",
            "PENDING tasks of a type no running worker of the queue can run",
            ["queue", "task_type"],
            registry=self.registry,
        )
        self.named_paused = Gauge(
            "taskflow_named_queue_paused", "1 while a named queue is paused", ["queue"],
            registry=self.registry,
        )  # fmt: skip
        self.named_workers = Gauge(
            "taskflow_named_queue_workers", "Live workers consuming a named queue", ["queue"],
            registry=self.registry,
        )  # fmt: skip
        self.monitor_up = Gauge(
            "taskflow_gateway_monitor_up",
            "1 when the last scrape could read the queue status from MonitorService",
            registry=self.registry,
        )

    async def refresh(self, rpc: Rpc) -> None:
        try:
            reply = await rpc.call(rpc.monitor.GetQueueStatus, monitor_pb.GetQueueStatusRequest())
        except grpc.RpcError as error:
            log.warning("event=metrics_queue_status_failed error=%r", error)
            self.monitor_up.set(0)
            return
        self.monitor_up.set(1)
        for state, count in shapes.counts(reply.states).items():
            self.tasks.labels(state=state).set(count)
        for queue, depth in shapes.depths(reply.queues).items():
            self.queue_depth.labels(queue=queue).set(depth)
        self.named_waiting.clear()  # a type's list that emptied leaves no stale series
        for named in reply.named_queues:
            lists = {"primary": named.primary, "retry": named.retry, "waiting": 0}
            for task_type, depth in named.waiting.items():
                lists["waiting"] += depth
                self.named_waiting.labels(queue=named.name, task_type=task_type).set(depth)
            for name, depth in lists.items():
                self.named_depth.labels(queue=named.name, list=name).set(depth)
            self.named_paused.labels(queue=named.name).set(int(named.paused))
            self.named_workers.labels(queue=named.name).set(len(named.workers))


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(
                time.perf_counter() - started
            )


def route_template(scope: Scope) -> str:
    """The path template the router chose (`/api/v1/tasks/{task_id}`), never the raw
    path, so the label set stays bounded; "unmatched" for a request no route took
    (unknown path, or refused before routing: 401)."""
    route = scope.get("route")
    return str(getattr(route, "path", UNMATCHED))


def router(metrics: GatewayMetrics) -> APIRouter:
    api = APIRouter()

    @api.get("/metrics", include_in_schema=False)
    async def scrape(rpc: GatewayRpc) -> Response:
        await metrics.refresh(rpc)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return api
