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
            await until_answering(http, "/live", within=30, what="the gateway to serve /live")
            assert (await http.get("/live")).status_code == 200
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=15)
    assert (ACCESS_LINE in log.read_text()) is logged, log.read_text()
