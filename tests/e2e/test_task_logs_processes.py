"""Task logs on real processes (executor, monitor, scheduler, gateway): the lines a
handler writes (ctx.log and plain `logging`, secrets masked) are seen live by a
WatchTask client over gRPC, by an SSE client of the task's event stream and by the
queue stream's progress events, are read back over REST, and go with the task."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import grpc
import httpx
from redis.asyncio import Redis

from taskflow.store import NewTask, TaskStore
from taskflow.v1 import monitor_service_pb2 as pb
from taskflow.v1 import monitor_service_pb2_grpc
from tests.support.processes import Services
from tests.support.sse import EventStream

STEPS = 3
MASKED = "calling with Authorization: Bearer ***"


async def test_logs_and_progress_are_seen_live_then_go_with_the_task(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    services = Services(
        redis_url, tmp_path, processes, ("scheduler", "monitor", "gateway", "executor")
    )
    await services.start()
    gate = str(tmp_path / "gate")
    async with (
        grpc.aio.insecure_channel(services.env["TASKFLOW_MONITOR_ADDRESS"]) as channel,
        httpx.AsyncClient(base_url=services.base_url, timeout=10) as http,
        http.stream("GET", "/api/v1/queues/status/stream") as queue_response,
    ):
        queues = EventStream(queue_response)
        assert (await queues.next())["type"] == "initial_status"
        task = await store.create(NewTask("stepper", str(STEPS), metadata={"gate": gate}))
        async with http.stream("GET", f"/api/v1/tasks/{task.task_id}/events?logs=true") as resp:
            assert resp.status_code == 200
            sse = EventStream(resp)
            watch: Any = monitor_service_pb2_grpc.MonitorServiceStub(channel).WatchTask(
                pb.WatchTaskRequest(task_id=task.task_id, with_logs=True)
            )
            grpc_lines: list[str] = []
            sse_lines: list[str] = []
            queue_progress: list[str] = []
            for step in range(1, STEPS + 1):
                await asyncio.to_thread(Path(f"{gate}.{step}").touch)
                want = f"finished step {step}"
                while want not in grpc_lines:  # live: before the next step may run
                    async with asyncio.timeout(30):
                        message = await watch.read()
                    assert message is not grpc.aio.EOF  # type: ignore[attr-defined]
                    grpc_lines += [line.message for line in message.log_lines]
                while want not in sse_lines:
                    event = await sse.next()
                    sse_lines += [line["message"] for line in event.get("log_lines", [])]
                while f"step {step} of {STEPS}" not in queue_progress:
                    event = await queues.next()
                    if event["type"] == "task_progress":
                        assert event["task_id"] == task.task_id
                        queue_progress.append(event["progress_message"])
            while (event := await sse.next())["task"]["state"] != "COMPLETED":
                pass
            watch.cancel()
    expected = [MASKED] + [f"finished step {s}" for s in range(1, STEPS + 1)]
    assert grpc_lines == expected
    assert sse_lines == expected
    assert "s3cr3t" not in " ".join(grpc_lines)

    async with httpx.AsyncClient(base_url=services.base_url, timeout=10) as http:
        body = (await http.get(f"/api/v1/tasks/{task.task_id}/logs")).json()
        assert [line["message"] for line in body["lines"]] == expected
        assert [line["level"] for line in body["lines"]] == ["WARNING"] + ["INFO"] * STEPS
        assert body["lines"][1]["logger"] == "taskflow.task.stepper"
        assert (await http.delete(f"/api/v1/tasks/{task.task_id}")).status_code == 200
        assert (await http.get(f"/api/v1/tasks/{task.task_id}/logs")).status_code == 404
    assert not await redis_client.exists(store.keys.task_logs(task.task_id))
