"""`taskflow health` and `taskflow breakers reset|open`: the system's health as the
monitor sees it (GetSystemHealth, GetRedisHealth, GetRedisPoolStats), and the
provider circuit breakers' manual controls (ResetCircuitBreaker, OpenCircuitBreaker)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from taskflow.cli.common import Exit, JsonOption, as_dict, console, out, print_json, run
from taskflow.client import Clients
from taskflow.v1 import enums_pb2, executor_service_pb2, monitor_service_pb2

breakers = typer.Typer(help="Provider circuit breakers: reset (close) or open them.")
ServiceOption = Annotated[
    str, typer.Option("--service", help="Only this provider's breaker (default: every one).")
]


def health(json: JsonOption = False) -> None:
    """Overall health by component, Redis latency and the connection pool; exit code 7
    while the system is UNHEALTHY."""

    async def command(clients: Clients) -> bool:
        md = clients.metadata
        system = await clients.monitor.GetSystemHealth(
            monitor_service_pb2.GetSystemHealthRequest(), metadata=md
        )
        redis = await clients.monitor.GetRedisHealth(
            monitor_service_pb2.GetRedisHealthRequest(), metadata=md
        )
        pool = await clients.monitor.GetRedisPoolStats(
            monitor_service_pb2.GetRedisPoolStatsRequest(), metadata=md
        )
        if json:
            print_json({"system": as_dict(system), "redis": as_dict(redis), "pool": as_dict(pool)})
        else:
            overall = _status(system.status)
            table = Table("component", "status", "message", title=f"Health: {overall}")
            table.title_justify = "left"
            for name, part in sorted(system.components.items()):
                table.add_row(name, _status(part.status), part.message)
            out.print(table)
            reached = f"{redis.response_time_ms:.1f} ms" if redis.connected else redis.error
            out.print(f"Redis: {'connected' if redis.connected else 'NOT connected'} ({reached})")
            out.print(
                f"Pool ({pool.connection_type or 'n/a'}): {pool.in_use_connections} in use, "
                f"{pool.available_connections} idle, {pool.created_connections} created, "
                f"max {pool.max_connections}"
            )
        return system.status != enums_pb2.HEALTH_STATUS_UNHEALTHY

    if not run(command):
        raise typer.Exit(Exit.ERROR)


@breakers.command()
def reset(service: ServiceOption = "", json: JsonOption = False) -> None:
    """Close the breaker(s): calls to the provider go through again."""

    async def command(clients: Clients) -> None:
        request = executor_service_pb2.ResetCircuitBreakerRequest(service=service)
        answer = await clients.executor.ResetCircuitBreaker(request, metadata=clients.metadata)
        if json:
            print_json(answer)
        else:
            console.print(answer.message)

    run(command)


@breakers.command("open")
def open_breaker(service: ServiceOption = "", json: JsonOption = False) -> None:
    """Open the breaker(s): calls to the provider fail fast until reset."""

    async def command(clients: Clients) -> None:
        request = executor_service_pb2.OpenCircuitBreakerRequest(service=service)
        answer = await clients.executor.OpenCircuitBreaker(request, metadata=clients.metadata)
        if json:
            print_json(answer)
        else:
            console.print(answer.message)

    run(command)


def _status(value: enums_pb2.HealthStatus.ValueType) -> str:
    return enums_pb2.HealthStatus.Name(value).removeprefix("HEALTH_STATUS_")
