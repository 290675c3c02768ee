"""`taskflow up` as a user runs it: one command brings up the bundled Redis and every
service, the gateway answers, a summarize task completes through the provider, and
one Ctrl-C stops every process it started. A second `up` on the same data directory
still has the task: the bundled Redis persisted it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskflow.redis_server import free_port
from tests.support.fake_openai import FakeOpenAI, provider_overrides

ROOT = Path(__file__).resolve().parents[2]
STARTUP_S = 60.0
# The supervisor's own bound is the shutdown grace plus a margin.
SHUTDOWN_GRACE_S = 5
STOP_S = SHUTDOWN_GRACE_S + 30.0


def up_env(data_dir: Path, fake: FakeOpenAI) -> dict[str, str]:
    """No REDIS_URL: `up` must start the bundled server itself."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TASKFLOW_")}
    env.pop("REDIS_URL", None)
    values: dict[str, Any] = {
        "TASKFLOW_DATA_DIR": data_dir,
        "TASKFLOW_REDIS_PORT": free_port(),
        "TASKFLOW_SCHEDULER_ADDRESS": f"127.0.0.1:{free_port()}",
        "TASKFLOW_EXECUTOR_ADDRESS": f"127.0.0.1:{free_port()}",
        "TASKFLOW_MONITOR_ADDRESS": f"127.0.0.1:{free_port()}",
        "TASKFLOW_GATEWAY_PORT": free_port(),
        "TASKFLOW_SHUTDOWN_GRACE": SHUTDOWN_GRACE_S,
        "PYTHONUNBUFFERED": 1,
        **provider_overrides(fake),
    }
    env.update({key: str(value) for key, value in values.items() if value is not None})
    return env


class Up:
    """One `taskflow up` (or another command that runs everything, such as
    `all-in-one`) in its own session, as a terminal would run it."""

    def __init__(self, env: dict[str, str], log_path: Path, command: str = "up") -> None:
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{env['TASKFLOW_GATEWAY_PORT']}"
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "taskflow.cli", command],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, http: httpx.Client) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"`up` exited early:\n{self.output()}"
            try:
                if http.get(f"{self.base_url}/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"the gateway was not ready within {STARTUP_S} s:\n{self.output()}")

    def ctrl_c(self) -> int:
        """What a terminal's Ctrl-C does: SIGINT to the foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(STOP_S)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"`up` did not stop within {STOP_S} s:\n{self.output()}")

    def kill(self) -> None:
        for pid in [*descendants(self.process.pid), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()


def descendants(pid: int) -> list[int]:
    """Every living process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces; the fields after ')' don't.
        state, parent = stat.rpartition(")")[2].split()[:2]
        if state != "Z":
            children.setdefault(int(parent), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def running_ups() -> Iterator[list[Up]]:
    """Any `up` a failed test leaves behind is killed with all it started."""
    started: list[Up] = []
    yield started
    for up in started:
        if up.process.poll() is None:
            up.kill()


def wait_for_state(http: httpx.Client, url: str, state: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    task: Any = None
    while time.monotonic() < deadline:
        task = http.get(url).json()
        if task["state"] == state:
            return task
        time.sleep(0.2)
    pytest.fail(f"task never reached {state}; last seen: {task}")


def test_up_serves_completes_a_summary_and_stops_everything_on_ctrl_c(
    tmp_path: Path, fake: FakeOpenAI, running_ups: list[Up]
) -> None:
    fake.content = "The council approved the harbour budget."
    env = up_env(tmp_path / "data", fake)
    up = Up(env, tmp_path / "up-1.log")
    running_ups.append(up)
    with httpx.Client(timeout=10) as http:
        up.wait_ready(http)
        services = descendants(up.process.pid)
        # The bundled Redis and the four services, each its own process.
        assert len(services) >= 5, up.output()

        created = http.post(
            f"{up.base_url}/api/v1/tasks/summarize/",
            json={"content": "The council met on Monday."},
        )
        assert created.status_code == 201, created.text
        task_url = f"{up.base_url}/api/v1/tasks/{created.json()['task_id']}"
        done = wait_for_state(http, task_url, "COMPLETED")
        assert done["result"] == "The council approved the harbour budget."
        assert len(fake.received()) == 1

        assert up.ctrl_c() == 0, up.output()
    assert [pid for pid in services if alive(pid)] == []
    output = up.output()
    assert "AsyncTaskFlow is up" in output
    assert up.base_url in output
    assert "Stopping (stop requested)" in output
    # Each child's lines carry its name, uncoloured when the output is not a terminal.
    assert "executor  | " in output
    assert "event=task_completed" in output
    assert "\x1b[" not in output

    # The same data directory, a new `up`: the completed task is still there.
    again = Up(env, tmp_path / "up-2.log")
    running_ups.append(again)
    with httpx.Client(timeout=10) as http:
        again.wait_ready(http)
        kept = http.get(task_url.replace(up.base_url, again.base_url))
        assert kept.status_code == 200, kept.text
        assert (kept.json()["state"], kept.json()["result"]) == ("COMPLETED", done["result"])
        assert again.ctrl_c() == 0, again.output()
