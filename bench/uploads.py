"""Gateway memory under concurrent PDF uploads: its peak RSS (VmHWM) while four
45 MB uploads arrive at once.

    uv run --frozen python -m bench.uploads [--budget BYTES] [--source DIR]

The bundled valkey, the scheduler and the gateway each run as a process of their
own on loopback (no executor: the tasks stay queued). `--source` runs the gateway
from another checkout of the code (e.g. `git archive` of an older commit, with
taskflow/v1 copied in), for a before/after comparison. Prints the figures;
docs/performance.md keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import httpx

from bench.common import bundled_server, host, machine, wait_until_serving
from taskflow.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]
UPLOADS = 4
UPLOAD_BYTES = 45 * 1000 * 1000
STARTUP_TIMEOUT_S = 60.0
MIB = 1024 * 1024


@contextmanager
def service(
    name: str, env: dict[str, str], source: Path, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m services.<name>` from `source`."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            cwd=source,
            env={**os.environ, **env, "PYTHONPATH": str(source)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def wait_for_grpc(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        grpc.channel_ready_future(channel).result(timeout=STARTUP_TIMEOUT_S)


async def upload_all(base_url: str, pdf: bytes) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as http:

        async def one(index: int) -> int:
            files = {"file": (f"big-{index}.pdf", pdf, "application/pdf")}
            reply = await http.post("/api/v1/tasks/pdfxtract", files=files)
            if reply.status_code != 201:
                print(f"upload {index}: {reply.status_code} {reply.text[:200]}")
            return reply.status_code

        return list(await asyncio.gather(*(one(i) for i in range(UPLOADS))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, help="TASKFLOW_GATEWAY_UPLOAD_MEMORY_BYTES")
    parser.add_argument("--source", type=Path, default=ROOT, help="code the gateway runs")
    options = parser.parse_args()
    pdf = b"%PDF-1.4\n" + os.urandom(UPLOAD_BYTES - 9)
    print(f"{machine()}; {host()}")
    with bundled_server() as redis, tempfile.TemporaryDirectory() as logs:
        scheduler = f"127.0.0.1:{free_port()}"
        port = free_port()
        env = {
            "REDIS_URL": redis.url,
            "TASKFLOW_SCHEDULER_ADDRESS": scheduler,
            "TASKFLOW_GATEWAY_PORT": str(port),
            "TASKFLOW_GATEWAY_ACCESS_LOG": "false",
            "LOG_LEVEL": "WARNING",
        }
        if options.budget:
            env["TASKFLOW_GATEWAY_UPLOAD_MEMORY_BYTES"] = str(options.budget)
        with (
            service("scheduler", env, ROOT, Path(logs) / "scheduler.log"),
            service("gateway", env, options.source, Path(logs) / "gateway.log") as gateway,
        ):
            base_url = f"http://127.0.0.1:{port}"
            wait_until_serving(f"{base_url}/live", gateway, STARTUP_TIMEOUT_S)
            wait_for_grpc(scheduler)
            idle = memory_kib(gateway.pid, "VmRSS")
            started = time.perf_counter()
            statuses = asyncio.run(upload_all(base_url, pdf))
            seconds = time.perf_counter() - started
            peak = memory_kib(gateway.pid, "VmHWM")
    print(f"gateway from {options.source}; budget {options.budget or 'default'}")
    print(f"{UPLOADS} concurrent uploads of {UPLOAD_BYTES / 1e6:.0f} MB in {seconds:.1f} s")
    print(f"statuses: {sorted(statuses)}")
    print(f"gateway RSS idle {idle / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB")
    print(f"peak above idle: {(peak - idle) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
