"""`taskflow provider`: the LLM provider as the dashboard's provider card shows it
(GetProviderStatus), the executor's shared rate limiter (GetRateLimitStatus) and the
calls per day (GetProviderMetrics)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from taskflow.cli.common import JsonOption, as_dict, out, print_json, run
from taskflow.client import Clients
from taskflow.v1 import enums_pb2, executor_service_pb2, monitor_service_pb2


def provider(
    days: Annotated[int, typer.Option(min=1, max=90, help="Days of call counts.")] = 7,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Ask the provider now, not the cached status.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """The provider's status and credit, the shared rate limiter, and calls per day."""

    async def command(clients: Clients) -> None:
        md = clients.metadata
        status = await clients.monitor.GetProviderStatus(
            monitor_service_pb2.GetProviderStatusRequest(refresh=refresh), metadata=md
        )
        limiter = await clients.executor.GetRateLimitStatus(
            executor_service_pb2.GetRateLimitStatusRequest(), metadata=md
        )
        metrics = await clients.monitor.GetProviderMetrics(
            monitor_service_pb2.GetProviderMetricsRequest(days=days), metadata=md
        )
        if json:
            answer = {"status": status, "rate_limit": limiter, "days": metrics}
            print_json({name: as_dict(message) for name, message in answer.items()})
            return
        state = enums_pb2.ProviderState.Name(status.status).removeprefix("PROVIDER_STATE_")
        out.print(f"Provider: {state} {status.message}".rstrip())
        if status.HasField("balance"):
            out.print(f"Balance: {status.balance:.2f}")
        if limiter.enabled:
            out.print(
                f"Rate limit: {limiter.tokens:.1f} of {limiter.capacity:.0f} tokens free, "
                f"{limiter.requests} per {limiter.interval}"
            )
        else:
            out.print("Rate limit: off")
        table = Table("day", "calls", "successes", "failures", "rate limited")
        for day in metrics.days:
            table.add_row(
                day.date,
                str(day.total_calls),
                str(day.successes),
                str(day.failures),
                str(day.rate_limit_hits),
            )
        out.print(table)

    run(command)
