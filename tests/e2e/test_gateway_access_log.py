"""`python -m services.gateway` writes one access line per request unless
TASKFLOW_GATEWAY_ACCESS_LOG is false."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from taskflow.redis_server import free_port
from tests.support.processes import service_env, start_service
from tests.support.waiting import until_answering

ACCESS_LINE = '"GET /live HTTP/1.1" 200'


@pytest.mark.parametrize(("setting", "logged"), [("true", True), ("false", False)])
async def test_access_log_follows_the_setting(
    redis_url: str, tmp_path: Path, setting: str, logged: bool
) -> None:
    port = free_port()
    env = service_env(
        redis_url,
        TASKFLOW_GATEWAY_HOST="127.0.0.1",
        TASKFLOW_GATEWAY_PORT=port,
        TASKFLOW_GATEWAY_ACCESS_LOG=setting,
    )
    log = tmp_path / "gateway.log"
    gateway = start_service("gateway", env, log)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            await until_answering(http, "/live", within=120, what="the gateway to serve /live")
            assert (await http.get("/live")).status_code == 200
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=60)
    assert (ACCESS_LINE in log.read_text()) is logged, log.read_text()


SECRET = "s3cret-access-token"
TASK_ID = "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11"
WRONG = "wrong-but-private-token"


async def test_no_token_reaches_the_log(redis_url: str, tmp_path: Path) -> None:
    """The access log writes each path with its query: an SSE `?token=` must not be
    written in clear, nor a bearer header or the configured token anywhere."""
    port = free_port()
    env = service_env(
        redis_url,
        TASKFLOW_GATEWAY_HOST="127.0.0.1",
        TASKFLOW_GATEWAY_PORT=port,
        TASKFLOW_API_TOKEN=SECRET,
        # Nothing listens there: the API answers 503, and its access lines are written.
        TASKFLOW_SCHEDULER_ADDRESS=f"127.0.0.1:{free_port()}",
        TASKFLOW_MONITOR_ADDRESS=f"127.0.0.1:{free_port()}",
    )
    log = tmp_path / "gateway.log"
    gateway = start_service("gateway", env, log)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await until_answering(http, "/live", within=30, what="the gateway to serve /live")
            for token in (SECRET, WRONG):
                stream = await http.get(
                    "/api/v1/queues/status/stream", params={"token": token, "x": "1"}
                )
                assert stream.status_code in (401, 503), stream.text
                headers = {"Authorization": f"Bearer {token}"}
                await http.get(
                    "/api/v1/tasks/0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11", headers=headers
                )
            assert (await http.get("/live")).status_code == 200
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=15)
    text = log.read_text()
    assert "/api/v1/queues/status/stream?token=***" in text, text
    assert SECRET not in text, text
    assert WRONG not in text, text
