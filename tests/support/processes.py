"""Services as real OS processes, for tests that kill them."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from taskflow.redis_server import free_port
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


def service_env(redis_url: str, **overrides: str | int | float) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": redis_url,
            "TASKFLOW_TASK_MODULES": json.dumps(["tests.support.tasks"]),
            "TASKFLOW_HEARTBEAT_SECONDS": "0.2",
            "TASKFLOW_RETRY_DELAY_SCALE": "0.01",
            "TASKFLOW_EXECUTOR_ADDRESS": f"127.0.0.1:{free_port()}",
            # No metrics ports: parallel tests (and the default ports) would collide.
            "TASKFLOW_SCHEDULER_METRICS_PORT": "0",
            "TASKFLOW_EXECUTOR_METRICS_PORT": "0",
            "TASKFLOW_MONITOR_METRICS_PORT": "0",
            "LOG_LEVEL": "INFO",
        }
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def start_service(name: str, env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`python -m services.<name>` with its output in `log_path` (read it on failure)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


STREAM = "/api/v1/queues/status/stream"


class Services:
    """Services as processes (by default the monitor and the gateway), restartable
    on the same ports; `start` returns once the gateway serves the queue stream."""

    def __init__(
        self,
        redis_url: str,
        log_dir: Path,
        started: list[subprocess.Popen[bytes]],
        names: tuple[str, ...] = ("monitor", "gateway"),
    ) -> None:
        self.names = names
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = service_env(
            redis_url,
            TASKFLOW_MONITOR_ADDRESS=f"127.0.0.1:{free_port()}",
            TASKFLOW_SCHEDULER_ADDRESS=f"127.0.0.1:{free_port()}",
            TASKFLOW_GATEWAY_HOST="127.0.0.1",
            TASKFLOW_GATEWAY_PORT=port,
            TASKFLOW_SSE_HEARTBEAT_SECONDS=1,
        )
        self.env.pop("TASKFLOW_API_TOKEN", None)
        self.log_dir = log_dir
        self.started = started
        self.running: list[subprocess.Popen[bytes]] = []

    async def start(self) -> None:
        for name in self.names:
            process = start_service(name, self.env, self.log_dir / f"{name}.log")
            self.started.append(process)
            self.running.append(process)

        async def streaming() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                async with (
                    httpx.AsyncClient(base_url=self.base_url, timeout=5) as http,
                    http.stream("GET", STREAM) as response,
                ):
                    return response.status_code == 200
            return False

        await eventually(streaming, within=90, what="gateway and monitor serving the stream")

    def kill(self) -> None:
        for process in self.running:
            process.kill()
            process.wait()
        self.running.clear()
