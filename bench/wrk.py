"""HTTP load from a second process: wrk (Debian's package), driven by a Lua script
that sets the request and prints the run's figures as one JSON line."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

WRK = "wrk"
# wrk's `done` hook: its summary, in microseconds, as JSON on the last line.
REPORT_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
    .. '"socket_errors":%d,"bad_status":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def available() -> bool:
    return shutil.which(WRK) is not None


def run(
    url: str,
    *,
    connections: int,
    seconds: float,
    threads: int = 2,
    method: str = "GET",
    body: str | None = None,
) -> Load:
    """`connections` keep-alive connections sending one request after another for
    `seconds`; a non-2xx/3xx answer or a socket error counts as a failure."""
    request = [f"wrk.method = {json.dumps(method)}"]
    if body is not None:
        request += [
            f"wrk.body = {json.dumps(body)}",
            'wrk.headers["Content-Type"] = "application/json"',
        ]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "load.lua"
        script.write_text("\n".join(request) + "\n" + REPORT_HOOK)
        finished = subprocess.run(
            [
                WRK,
                f"--threads={min(threads, connections)}",
                f"--connections={connections}",
                f"--duration={max(1, round(seconds))}s",
                "--timeout=10s",
                f"--script={script}",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    return Load(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1e3,
        p99_ms=figures["p99_us"] / 1e3,
        max_ms=figures["max_us"] / 1e3,
        failures=figures["socket_errors"] + figures["bad_status"],
    )
