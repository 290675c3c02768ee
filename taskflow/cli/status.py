"""Read commands on the whole system: `status`, `workers` (`queues`: queues.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import grpc
import typer
from rich.live import Live

from taskflow.cli.common import JsonOption, as_dict, out, print_json, run
from taskflow.cli.status_view import Snapshot, render, workers_table
from taskflow.client import Clients
from taskflow.v1 import executor_service_pb2, monitor_service_pb2


def status(
    watch: Annotated[
        float, typer.Option(help="Refresh every this many seconds until Ctrl-C (0: once).")
    ] = 0,
    json: JsonOption = False,
) -> None:
    """Whether claiming is paused, queue depths, task counts, workers and breakers."""

    async def command(clients: Clients) -> None:
        if json:
            snapshot = await _snapshot(clients)
            print_json(
                {
                    "paused": snapshot.paused,
                    "queues": as_dict(snapshot.queues),
                    "workers": as_dict(snapshot.workers),
                }
            )
            return
        if watch <= 0:
            out.print(render(await _snapshot(clients)))
            return
        with Live(render(await _snapshot(clients)), auto_refresh=False, console=out) as live:
            while True:
                await asyncio.sleep(watch)
                live.update(render(await _snapshot(clients)), refresh=True)

    run(command)


def workers(json: JsonOption = False) -> None:
    """Every worker: host, pid, health, running tasks of its slots, counts, breakers."""

    async def command(clients: Clients) -> None:
        request = monitor_service_pb2.ListWorkersRequest()
        answer = await clients.monitor.ListWorkers(request, metadata=clients.metadata)
        if json:
            print_json(answer)
            return
        out.print(workers_table(answer))
        for worker in sorted(answer.worker_details, key=lambda w: w.worker_id):
            for task_id in worker.active_task_ids:
                out.print(f"  {worker.worker_id} runs {task_id}")

    run(command)


async def _snapshot(clients: Clients) -> Snapshot:
    md = clients.metadata
    queue_status, worker_list, paused = await asyncio.gather(
        clients.monitor.GetQueueStatus(monitor_service_pb2.GetQueueStatusRequest(), metadata=md),
        clients.monitor.ListWorkers(monitor_service_pb2.ListWorkersRequest(), metadata=md),
        _paused_or_unknown(clients),
    )
    return Snapshot(queue_status, worker_list, paused)


async def _paused_or_unknown(clients: Clients) -> bool | None:
    request = executor_service_pb2.GetExecutorStatusRequest()
    try:
        answer = await clients.executor.GetExecutorStatus(request, metadata=clients.metadata)
    except grpc.aio.AioRpcError as error:
        if error.code() is grpc.StatusCode.UNAVAILABLE:
            return None
        raise
    return answer.paused
