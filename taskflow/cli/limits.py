"""`taskflow limits`: each task type's rate and concurrency limits and their use now."""

from __future__ import annotations

from rich.table import Table

from taskflow.cli.common import JsonOption, out, print_json, run
from taskflow.client import Clients
from taskflow.v1 import monitor_service_pb2


def limits(json: JsonOption = False) -> None:
    """Declared limits per task type: free rate tokens, concurrency slots used per
    key value, tasks held back now and in total."""

    async def command(clients: Clients) -> None:
        request = monitor_service_pb2.ListLimitsRequest()
        answer = await clients.monitor.ListLimits(request, metadata=clients.metadata)
        if json:
            print_json(answer)
            return
        out.print(limits_table(answer))

    run(command)


def limits_table(answer: monitor_service_pb2.ListLimitsResponse) -> Table:
    table = Table(title="Limits", title_justify="left")
    for column in ("type", "rate", "tokens free", "concurrency", "slots used", "held back"):
        table.add_column(column)
    for use in answer.limits:
        concurrency = ""
        if use.concurrency_limit:
            concurrency = f"{use.concurrency_limit} per {use.concurrency_key or 'type'}"
        slots = ", ".join(f"{s.key_value or '-'}: {s.used}/{s.limit}" for s in use.slots)
        table.add_row(
            use.task_type,
            use.rate_limit or "-",
            f"{use.rate_tokens}/{use.rate_capacity}" if use.rate_limit else "-",
            concurrency or "-",
            slots or ("none" if use.concurrency_limit else "-"),
            f"{use.held_back} now, {use.held_by_rate_total + use.held_by_concurrency_total} in all",
        )
    if not answer.limits:
        table.caption = "no task type declares a limit"
    return table
