"""The gateway under load: REST create against a FastAPI app writing Redis directly,
reads with 1,000 and 100,000 stored tasks, SSE fan-out to 200 clients, and
create/get served by the transcoder against the hand-written routes.

    uv run --frozen python -m bench.gateway [--quick] [--transcoder-only]

Every server is a process of its own on loopback: the bundled valkey, the scheduler,
the monitor, a paused executor and the gateway (`python -m services.gateway`, the
browser tests' harness), and the baseline, bench/compare/fastapi_direct.py, under
the same uvicorn. wrk (Debian's package: `make bench-tools`) sends the HTTP load from
processes of its own; bench/sse_listeners.py holds the SSE clients. Prints the
figures; docs/performance.md keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import wrk
from bench.common import bundled_server, host, seed_finished, wait_until_serving
from taskflow.redis_server import free_port
from tests.browser.specs import ensure_dashboard_built
from tests.browser.stack import Stack, provider_env, running_stack

ROOT = Path(__file__).resolve().parents[1]
CREATE_PATH = "/api/v1/tasks/summarize/"
STREAM_PATH = "/api/v1/queues/status/stream"
# A paragraph of the size summaries are usually asked for (~600 bytes).
CONTENT = " ".join(["The council voted on Tuesday to widen the harbour road."] * 11)
READS = {
    "queue status": "/api/v1/queues/status",
    "task list, first page": "/api/v1/tasks/",
    "task list, COMPLETED, page 40": "/api/v1/tasks/?status=COMPLETED&page=40",
    "summaries, 100 a page": "/api/v1/tasks/summaries/?page_size=100",
}
# Neither server under test writes an access log line per request (the baseline runs
# with --no-access-log); the provider is never called (the executor stays paused).
STACK_ENV = {**provider_env(None), "TASKFLOW_GATEWAY_ACCESS_LOG": "false"}
STARTUP_TIMEOUT_S = 60.0
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Options:
    seconds: float  # each load run
    tasks: int  # stored tasks for the second round of reads
    clients: int  # SSE streams
    rates: tuple[int, ...]  # tasks created per second while the streams listen
    fan_out_seconds: float


FULL = Options(seconds=15, tasks=100_000, clients=200, rates=(20, 70), fan_out_seconds=15)
QUICK = Options(seconds=3, tasks=10_000, clients=50, rates=(10,), fan_out_seconds=3)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def print_load(label: str, load: wrk.Load, extra: str = "") -> None:
    failures = f", {load.failures} failed" if load.failures else ""
    print(
        f"  {label:<34} {load.per_second:>8,.0f} req/s   p50 {load.p50_ms:6.2f} ms"
        f"   p99 {load.p99_ms:6.2f} ms{failures}{extra}",
        flush=True,
    )


def pause_executors(base_url: str) -> None:
    """Tasks stay queued: the executor's work would only compete for the two cores."""
    httpx.post(f"{base_url}/api/v1/executors/pause", timeout=10).raise_for_status()


def measure_reads(redis_url: str, base_url: str, options: Options) -> None:
    stored = 0
    for target in (1_000, options.tasks):
        seconds = asyncio.run(seed_finished(redis_url, target - stored))
        stored = target
        print(f"reads, one connection, {stored:,} tasks stored (seeded in {seconds:.1f} s)")
        for label, path in READS.items():
            httpx.get(base_url + path, timeout=10).raise_for_status()
            print_load(label, wrk.run(base_url + path, connections=1, seconds=options.seconds))


@contextmanager
def server_process(
    command: list[str], env: Mapping[str, str], log_path: Path, port: int, ready_path: str
) -> Iterator[tuple[str, int]]:
    """`command` (a server listening on `port`) as a process of its own, until it
    answers `ready_path`; yields its base URL and pid, and stops it after."""
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until_serving(base_url + ready_path, process, STARTUP_TIMEOUT_S)
        yield base_url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def direct_app(redis_url: str, log_dir: Path) -> AbstractContextManager[tuple[str, int]]:
    """bench/compare/fastapi_direct.py under uvicorn, one process, on a free port."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "uvicorn", "bench.compare.fastapi_direct:app"),
        *("--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
    ]
    env = {**os.environ, "REDIS_URL": redis_url}
    return server_process(command, env, log_dir / "direct.log", port, "/openapi.json")


def transcoded_gateway(stack: Stack, log_dir: Path) -> AbstractContextManager[tuple[str, int]]:
    """A second gateway over the same services with no hand-kept routes
    (bench/compare/transcoded_gateway.py)."""
    port = free_port()
    command = [sys.executable, "-m", "bench.compare.transcoded_gateway"]
    env = {**stack.env, "TASKFLOW_GATEWAY_PORT": str(port)}
    return server_process(command, env, log_dir / "transcoded.log", port, "/live")


def measure_transcoder(stack: Stack, log_dir: Path, options: Options, rounds: int = 3) -> None:
    """POST /api/v1/tasks and GET /api/v1/tasks/{id}, hand-written (the original's
    JSON) and transcoded (proto JSON), alternating in the same run."""
    body = json.dumps({"task_type": "summarize", "content": CONTENT})
    with transcoded_gateway(stack, log_dir) as (transcoded_url, transcoded_pid):
        created = httpx.post(f"{stack.base_url}/api/v1/tasks", json=json.loads(body), timeout=10)
        task_path = f"/api/v1/tasks/{created.json()['task_id']}"
        sides = {
            "hand-written": (stack.base_url, stack.processes["gateway"].pid),
            "transcoded": (transcoded_url, transcoded_pid),
        }
        for label, method, path in (
            ("create", "POST", "/api/v1/tasks"),
            ("get", "GET", task_path),
        ):
            print(f"{label}: {method} {path}, 16 connections, {rounds} rounds alternating")
            for round_ in range(1, rounds + 1):
                for side, (base_url, pid) in sides.items():
                    url = base_url + path
                    payload = body if method == "POST" else None
                    wrk.run(url, connections=16, seconds=1, method=method, body=payload)
                    before = cpu_seconds(pid)
                    load = wrk.run(
                        url, connections=16, seconds=options.seconds, method=method, body=payload
                    )
                    spent = 1e6 * (cpu_seconds(pid) - before) / load.requests
                    print_load(
                        f"round {round_}, {side}", load, f"   gateway CPU {spent:,.0f} µs/req"
                    )


def measure_creates(stack: Stack, log_dir: Path, options: Options) -> None:
    body = json.dumps({"content": CONTENT})
    gateway_side = {name: stack.processes[name].pid for name in ("gateway", "scheduler", "monitor")}
    with direct_app(stack.redis_url, log_dir) as (direct_url, direct_pid):
        targets: dict[str, tuple[str, Mapping[str, int]]] = {
            "gateway -> scheduler": (stack.base_url, gateway_side),
            "FastAPI writing Redis directly": (direct_url, {"direct": direct_pid}),
        }
        for connections in (16, 64):
            print(f"POST {CREATE_PATH}, {connections} connections")
            for label, (base_url, pids) in targets.items():
                url = base_url + CREATE_PATH
                wrk.run(url, connections=connections, seconds=1, method="POST", body=body)
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                load = wrk.run(
                    url, connections=connections, seconds=options.seconds, method="POST", body=body
                )
                cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
                per_request = ", ".join(
                    f"{name} {1e6 * spent / load.requests:,.0f}" for name, spent in cpu.items()
                )
                print_load(label, load, f"   CPU µs/request: {per_request}")


async def create_steadily(base_url: str, rate: int, seconds: float) -> dict[str, float]:
    """POST a summarize task `rate` times a second; when each request was sent."""
    sent: dict[str, float] = {}
    loop = asyncio.get_running_loop()

    async def create_one(http: httpx.AsyncClient) -> None:
        at = time.monotonic()
        reply = await http.post(CREATE_PATH, json={"content": CONTENT})
        reply.raise_for_status()
        sent[reply.json()["task_id"]] = at

    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        creating = []
        start = loop.time()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
            creating.append(asyncio.create_task(create_one(http)))
        await asyncio.gather(*creating)
    return sent


def measure_fan_out(stack: Stack, options: Options, rate: int) -> None:
    base_url = stack.base_url
    servers = {name: stack.processes[name].pid for name in ("gateway", "monitor")}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "receipts.json"
        listeners = subprocess.Popen(
            [
                *(sys.executable, "-m", "bench.sse_listeners"),
                *(base_url + STREAM_PATH, str(options.clients), str(out)),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert listeners.stdout is not None
            if listeners.stdout.readline().strip() != "ready":
                raise RuntimeError("the SSE listeners did not start")
            before = {name: cpu_seconds(pid) for name, pid in servers.items()}
            sent = asyncio.run(create_steadily(base_url, rate, options.fan_out_seconds))
            time.sleep(2.0)  # the last events reach every stream
            cpu = {name: cpu_seconds(pid) - before[name] for name, pid in servers.items()}
        finally:
            listeners.terminate()
            listeners.wait(timeout=30)
        recorded = json.loads(out.read_text())
    delays = [
        (received - sent[task_id]) * 1e3
        for task_id, times in recorded["receipts"].items()
        if task_id in sent
        for received in times
    ]
    expected = len(sent) * options.clients
    print(
        f"SSE fan-out: {options.clients} streams, {rate} tasks/s created for "
        f"{options.fan_out_seconds:.0f} s ({len(sent)} tasks)"
    )
    print(
        f"  create -> task_created on a stream: p50 {percentile(delays, 0.5):.1f} ms, "
        f"p99 {percentile(delays, 0.99):.1f} ms, max {max(delays):.1f} ms; "
        f"{len(delays):,} of {expected:,} events received, "
        f"{recorded['streams_ended']} streams ended early"
    )
    window = options.fan_out_seconds + 2.0
    print(
        "  CPU while streaming: "
        + ", ".join(f"{name} {100 * spent / window:.0f} %" for name, spent in cpu.items())
        + " of a core; per event delivered: "
        + ", ".join(f"{name} {1e6 * spent / len(delays):.0f} µs" for name, spent in cpu.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short runs, 10,000 tasks")
    parser.add_argument(
        "--transcoder-only", action="store_true", help="only transcoded against hand-written"
    )
    args = parser.parse_args()
    options = QUICK if args.quick else FULL
    if not wrk.available():
        raise SystemExit("wrk is missing: `make bench-tools` installs it")
    ensure_dashboard_built()
    print(host())
    with (
        bundled_server() as server,
        tempfile.TemporaryDirectory(prefix="bench-gateway-") as logs,
        running_stack(server.url, Path(logs), STACK_ENV) as stack,
    ):
        pause_executors(stack.base_url)
        measure_transcoder(stack, Path(logs), options)
        if args.transcoder_only:
            return
        measure_reads(server.url, stack.base_url, options)
        measure_creates(stack, Path(logs), options)
        for rate in options.rates:
            measure_fan_out(stack, options, rate)


if __name__ == "__main__":
    main()
