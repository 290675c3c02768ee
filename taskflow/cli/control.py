"""`taskflow pause` and `resume`: stop and restart claiming, cluster-wide."""

from __future__ import annotations

from taskflow.cli.common import console, run
from taskflow.client import Clients
from taskflow.v1 import executor_service_pb2


def pause() -> None:
    """Stop every worker claiming tasks; running tasks finish."""

    async def command(clients: Clients) -> None:
        request = executor_service_pb2.PauseExecutorRequest()
        await clients.executor.PauseExecutor(request, metadata=clients.metadata)

    run(command)
    console.print("Paused: running tasks finish, nothing new is claimed until `taskflow resume`.")


def resume() -> None:
    """Let the workers claim tasks again."""

    async def command(clients: Clients) -> None:
        request = executor_service_pb2.ResumeExecutorRequest()
        await clients.executor.ResumeExecutor(request, metadata=clients.metadata)

    run(command)
    console.print("Resumed: the workers claim tasks again.")
