"""Progress of a running task on real processes (executor, monitor, gateway): a
handler's ctx.progress reports are stored on the task and seen live, in order, by
a WatchTask client over gRPC and by an SSE client of the task's event stream."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import grpc
import httpx

from taskflow.store import NewTask, TaskStore
from taskflow.v1 import monitor_service_pb2 as pb
from taskflow.v1 import monitor_service_pb2_grpc
from tests.support.processes import Services
from tests.support.sse import EventStream

STEPS = 3


async def test_progress_is_seen_live_by_watch_task_and_sse(
    redis_url: str,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    services = Services(redis_url, tmp_path, processes, ("monitor", "gateway", "executor"))
    await services.start()
    gate = str(tmp_path / "gate")
    task = await store.create(NewTask("stepper", str(STEPS), metadata={"gate": gate}))
    async with (
        grpc.aio.insecure_channel(services.env["TASKFLOW_MONITOR_ADDRESS"]) as channel,
        httpx.AsyncClient(base_url=services.base_url, timeout=10) as http,
        http.stream("GET", f"/api/v1/tasks/{task.task_id}/events") as response,
    ):
        assert response.status_code == 200
        sse = EventStream(response)
        watch: Any = monitor_service_pb2_grpc.MonitorServiceStub(channel).WatchTask(
            pb.WatchTaskRequest(task_id=task.task_id)
        )
        grpc_seen: list[tuple[float, str]] = []
        sse_seen: list[tuple[float, str]] = []
        for step in range(1, STEPS + 1):
            await asyncio.to_thread(Path(f"{gate}.{step}").touch)
            want = (step / STEPS, f"step {step} of {STEPS}")
            while not grpc_seen or grpc_seen[-1] != want:
                async with asyncio.timeout(30):
                    message = await watch.read()
                assert message is not grpc.aio.EOF  # type: ignore[attr-defined]
                if message.task.HasField("progress"):
                    grpc_seen.append((message.task.progress, message.task.progress_message))
            while not sse_seen or sse_seen[-1] != want:
                event = await sse.next()
                if "progress" in event.get("task", {}):
                    sse_seen.append((event["task"]["progress"], event["task"]["progress_message"]))
        while (event := await sse.next())["task"]["state"] != "COMPLETED":
            pass
        watch.cancel()
    expected = [(s / STEPS, f"step {s} of {STEPS}") for s in range(1, STEPS + 1)]
    assert [p for p in grpc_seen if p in expected] == expected
    assert [p for p in sse_seen if p in expected] == expected
    stored = await store.get(task.task_id)
    assert (stored.progress, stored.progress_message) == expected[-1]
    assert stored.progress_at is not None
    assert event["task"]["result"] == "stepped"
