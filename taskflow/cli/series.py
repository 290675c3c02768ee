"""`taskflow series`: tasks created, completed and failed per minute, with latency
percentiles, as the dashboard's throughput and latency charts show (GetTaskSeries)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from taskflow.cli.common import JsonOption, out, print_json, run
from taskflow.client import Clients
from taskflow.v1 import monitor_service_pb2


def series(
    minutes: Annotated[
        int, typer.Option(min=1, max=1440, help="Minutes, ending with the current one.")
    ] = 15,
    json: JsonOption = False,
) -> None:
    """Per minute: tasks created, completed, failed, and their latency (s)."""

    async def command(clients: Clients) -> None:
        request = monitor_service_pb2.GetTaskSeriesRequest(minutes=minutes)
        answer = await clients.monitor.GetTaskSeries(request, metadata=clients.metadata)
        if json:
            print_json(answer)
            return
        table = Table("minute (UTC)", "created", "completed", "failed", "p50", "p95", "p99")
        for point in answer.points:
            done = point.latency_count > 0
            table.add_row(
                point.minute.ToDatetime().strftime("%Y-%m-%d %H:%M"),
                str(point.created),
                str(point.completed),
                str(point.failed),
                *(
                    f"{value:.3f}" if done else "-"
                    for value in (
                        point.latency_p50_seconds,
                        point.latency_p95_seconds,
                        point.latency_p99_seconds,
                    )
                ),
            )
        out.print(table)

    run(command)
