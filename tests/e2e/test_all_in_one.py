"""`taskflow all-in-one`: the bundled Redis plus every service in one process. The
gateway answers, a summarize task completes through the provider over REST, no
service runs as a process of its own, and one Ctrl-C stops it all; a part that
cannot start stops the rest and the command fails."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_taskflow_up import Up, alive, descendants, up_env, wait_for_state
from tests.support.fake_openai import FakeOpenAI


@pytest.fixture
def running_ups() -> Iterator[list[Up]]:
    """Whatever a failed test leaves running is killed, with all it started."""
    started: list[Up] = []
    yield started
    for up in started:
        if up.process.poll() is None:
            up.kill()


def program(pid: int) -> str:
    """The file name of what `pid` runs (python3.11, valkey-server...)."""
    try:
        return Path(f"/proc/{pid}/exe").resolve().name
    except OSError:
        return ""


def test_all_in_one_serves_a_task_end_to_end_over_rest_and_stops_on_ctrl_c(
    tmp_path: Path, fake: FakeOpenAI, running_ups: list[Up]
) -> None:
    fake.content = "The harbour budget passed."
    env = up_env(tmp_path / "data", fake)
    up = Up(env, tmp_path / "all-in-one.log", command="all-in-one")
    running_ups.append(up)
    with httpx.Client(timeout=10) as http:
        up.wait_ready(http)
        started = descendants(up.process.pid)
        # Only the bundled Redis runs apart: the services are this one process.
        assert started, up.output()
        assert [program(pid) for pid in started] == ["valkey-server"], up.output()
        health = http.get(f"{up.base_url}/health").json()
        assert health["components"]["scheduler"] is True, health
        assert health["components"]["monitor"] is True, health
        assert health["components"]["executor"] is True, health

        created = http.post(
            f"{up.base_url}/api/v1/tasks/summarize/",
            json={"content": "The council met on Monday."},
        )
        assert created.status_code == 201, created.text
        task_url = f"{up.base_url}/api/v1/tasks/{created.json()['task_id']}"
        done = wait_for_state(http, task_url, "COMPLETED")
        assert done["result"] == "The harbour budget passed."

        assert up.ctrl_c() == 0, up.output()
    assert [pid for pid in started if alive(pid)] == []
    output = up.output()
    assert "AsyncTaskFlow is up" in output
    assert "event=task_completed" in output
    assert "event=service_stopped service=all-in-one" in output


@pytest.mark.parametrize("part", ["scheduler", "gateway"])
def test_all_in_one_fails_and_stops_everything_when_a_part_cannot_start(
    tmp_path: Path, fake: FakeOpenAI, running_ups: list[Up], part: str
) -> None:
    env = up_env(tmp_path / "data", fake)
    with socket.socket() as taken:
        if part == "gateway":
            host, port = "127.0.0.1", env["TASKFLOW_GATEWAY_PORT"]
            env["TASKFLOW_GATEWAY_HOST"] = host
        else:
            host, port = env["TASKFLOW_SCHEDULER_ADDRESS"].rsplit(":", 1)
        taken.bind((host, int(port)))
        taken.listen()
        up = Up(env, tmp_path / "all-in-one.log", command="all-in-one")
        running_ups.append(up)
        code = up.process.wait(120)
    output = up.output()
    assert code != 0, output
    assert f"event=part_ended service={part}" in output
    # The others were stopped in order, and the bundled Redis with them.
    assert "event=worker_stopped" in output
    assert "event=redis_stopped" in output
