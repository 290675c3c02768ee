"""The whole system as real processes on free loopback ports, for the browser tests
and the dashboard benchmark: scheduler, executor, monitor, and the gateway serving
the built dashboard (frontend/dist), against a Redis the caller started.

    with running_stack(redis_url, log_dir, provider_env(fake)) as stack:
        ... open stack.base_url in a browser ...
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from taskflow.redis_server import free_port
from tests.support.fake_openai import FakeOpenAI, provider_overrides
from tests.support.processes import service_env, start_service

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
DIST = FRONTEND / "dist"
# A loaded 2-core machine imports grpc, FastAPI and friends slowly.
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
# Started in this order, stopped in the reverse one.
SERVICES = ("scheduler", "monitor", "executor", "gateway")


@dataclass
class Stack:
    base_url: str
    redis_url: str
    env: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def logs(self, lines: int = 40) -> str:
        """The last lines of every service's log, for a failure message."""
        parts = []
        for name in self.processes:
            path = self.log_dir / f"{name}.log"
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- {name} ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)


def provider_env(fake: FakeOpenAI | None) -> dict[str, str]:
    """Point the LLM provider at `fake` (None: no key, local summaries)."""
    values = provider_overrides(fake, OPENROUTER_TIMEOUT=5)
    return {name: "" if value is None else str(value) for name, value in values.items()}


def stack_env(redis_url: str, overrides: Mapping[str, str]) -> dict[str, str]:
    env = service_env(
        redis_url,
        TASKFLOW_SCHEDULER_ADDRESS=f"127.0.0.1:{free_port()}",
        TASKFLOW_MONITOR_ADDRESS=f"127.0.0.1:{free_port()}",
        TASKFLOW_GATEWAY_HOST="127.0.0.1",
        TASKFLOW_GATEWAY_PORT=free_port(),
        TASKFLOW_FRONTEND_DIST=str(DIST),
        TASKFLOW_HEARTBEAT_SECONDS=1,
        TASKFLOW_SHUTDOWN_GRACE=2,
        # Quiet streams send a heartbeat soon, and the dashboard re-reads the counts.
        TASKFLOW_SSE_HEARTBEAT_SECONDS=5,
    )
    env.pop("TASKFLOW_API_TOKEN", None)
    env.update(overrides)
    return env


@contextlib.contextmanager
def running_stack(
    redis_url: str, log_dir: Path, overrides: Mapping[str, str] | None = None
) -> Iterator[Stack]:
    """Every service as a process; yields once the gateway is ready and a worker
    has reported a heartbeat."""
    if not (DIST / "index.html").is_file():
        raise RuntimeError(f"{DIST} has no build of the dashboard: run `make frontend`")
    log_dir.mkdir(parents=True, exist_ok=True)
    env = stack_env(redis_url, overrides or {})
    stack = Stack(f"http://127.0.0.1:{env['TASKFLOW_GATEWAY_PORT']}", redis_url, env, log_dir)
    try:
        for name in SERVICES:
            stack.processes[name] = start_service(name, env, log_dir / f"{name}.log")
        _wait_until_ready(stack)
        yield stack
    finally:
        _stop(stack.processes)


def start_gateway(stack: Stack, log_dir: Path, overrides: Mapping[str, str]) -> Stack:
    """A second gateway over the same services (e.g. one that needs a token)."""
    env = {**stack.env, "TASKFLOW_GATEWAY_PORT": str(free_port()), **overrides}
    other = Stack(f"http://127.0.0.1:{env['TASKFLOW_GATEWAY_PORT']}", stack.redis_url, env, log_dir)
    other.processes["gateway"] = start_service("gateway", env, log_dir / "gateway.log")
    return other


def stop(stack: Stack) -> None:
    _stop(stack.processes)


def wait_for_gateway(stack: Stack) -> None:
    _wait_for(stack, lambda http: http.get("/live").status_code == 200, "the gateway to serve")


def _wait_until_ready(stack: Stack) -> None:
    def ready(http: httpx.Client) -> bool:
        if http.get("/ready").status_code != 200:
            return False
        return int(http.get("/api/v1/workers/").json().get("total_workers", 0)) > 0

    _wait_for(stack, ready, "the stack to be ready")


def _wait_for(stack: Stack, check: Callable[[httpx.Client], bool], what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(base_url=stack.base_url, timeout=5.0) as http:
        while time.monotonic() < deadline:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}\n{stack.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if check(http):
                    return
            time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}\n{stack.logs()}")


def _stop(processes: Mapping[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM in reverse start order (each stops gracefully), SIGKILL if stuck."""
    for process in reversed(list(processes.values())):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
