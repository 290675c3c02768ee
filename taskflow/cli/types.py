"""`taskflow types`: the task types the scheduler accepts, with their settings."""

from __future__ import annotations

from rich.table import Table

from taskflow.cli.common import JsonOption, out, print_json, run
from taskflow.client import Clients
from taskflow.v1 import scheduler_service_pb2


def types(json: JsonOption = False) -> None:
    """Every registered task type (built-in and TASKFLOW_TASK_MODULES) and its limits."""

    async def command(clients: Clients) -> None:
        request = scheduler_service_pb2.ListTaskTypesRequest()
        answer = await clients.scheduler.ListTaskTypes(request, metadata=clients.metadata)
        if json:
            print_json(answer)
            return
        table = Table(title="Task types", title_justify="left")
        for column in ("type", "kind", "retries", "description"):
            table.add_column(column, justify="right" if column == "retries" else "left")
        for kind in answer.task_types:
            where = "built-in" if kind.builtin else "module"
            table.add_row(
                kind.name,
                f"{where}{', cpu-bound' if kind.cpu_bound else ''}",
                str(kind.default_max_retries),
                kind.description,
            )
        out.print(table)

    run(command)
