"""Services as real OS processes, for tests that kill them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from taskflow.redis_server import free_port

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
