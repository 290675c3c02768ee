"""Runs the dashboard's browser specs (frontend/e2e/*.spec.ts, vitest + playwright-core
driving Debian's chromium) against a running stack, and keeps its build fresh."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.browser.stack import DIST, FRONTEND, ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
VITEST = FRONTEND / "node_modules" / ".bin" / "vitest"
# Sources whose change makes frontend/dist stale.
BUILD_INPUTS = ("src", "index.html", "package-lock.json", "vite.config.ts", "tsconfig.json")
# Below the browser tests' pytest timeout, so a stuck spec reports its output.
SPEC_TIMEOUT_S = 240


class SpecFailed(AssertionError):
    """A spec file failed; the message holds vitest's report."""


def _newest_input() -> float:
    newest = 0.0
    for name in BUILD_INPUTS:
        path = FRONTEND / name
        files = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def ensure_dashboard_built() -> None:
    """`npm run build` when frontend/dist is missing or older than its sources, so the
    tests never judge a stale build."""
    if not VITEST.exists():
        raise RuntimeError("frontend/node_modules is missing: run `make install`")
    index = DIST / "index.html"
    if index.exists() and index.stat().st_mtime >= _newest_input():
        return
    subprocess.run(
        ["npm", "run", "build"], cwd=FRONTEND, check=True, capture_output=True, timeout=300
    )


def run_spec(name: str, base_url: str, env: Mapping[str, str] | None = None) -> str:
    """Run frontend/e2e/<name>.spec.ts against `base_url`; vitest's report, or
    SpecFailed with it."""
    return run_vitest(f"e2e/{name}.spec.ts", base_url, env)


def run_vitest(path: str, base_url: str, env: Mapping[str, str] | None = None) -> str:
    """Run one file of frontend/e2e (relative to frontend/) with vitest."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # A session of its own: on a timeout, chromium goes down with vitest.
    process = subprocess.Popen(
        [str(VITEST), "run", "--config", "vitest.e2e.config.ts", path],
        cwd=FRONTEND,
        env={
            **os.environ,
            "TASKFLOW_BASE_URL": base_url,
            "TASKFLOW_ARTIFACTS": str(ARTIFACTS),
            "NO_COLOR": "1",
            **(env or {}),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        report, _ = process.communicate(timeout=SPEC_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        report, _ = process.communicate()
        raise SpecFailed(f"{path} ran over {SPEC_TIMEOUT_S} s:\n{report}") from None
    if process.returncode != 0:
        raise SpecFailed(f"{path} failed:\n{report}")
    return report
