"""The Python SDK as a user gets it: the wheel built from sdk/python, installed
into a fresh virtual environment that holds nothing else."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "sdk_scripts"
EXAMPLES = ROOT / "sdk" / "python" / "examples"


def uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(found).exists():
        raise RuntimeError("uv is needed to build the SDK wheel (make install puts it in place)")
    return found


def build_and_install(workdir: Path) -> Path:
    """Build the wheel, install it into a new venv; the venv's python."""
    dist, venv = workdir / "dist", workdir / "venv"
    run(uv(), "build", "--wheel", str(ROOT / "sdk" / "python"), "-o", str(dist))
    (wheel,) = dist.glob("asynctaskflow_client-*.whl")
    run(uv(), "venv", "--python", sys.executable, str(venv))
    python = venv / "bin" / "python"
    run(uv(), "pip", "install", "--python", str(python), str(wheel))
    return python


def run(*command: str) -> None:
    done = subprocess.run(
        command, capture_output=True, text=True, env=clean_env(), timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{done.stdout}\n{done.stderr}")


def clean_env() -> dict[str, str]:
    """The environment for the venv's python: nothing of this repository on the path."""
    return {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}


async def run_script(
    python: Path, script: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> str:
    """Run sdk_scripts/`script` (or a path) with the venv's python, without blocking
    the loop that serves the in-process services; its stdout."""
    process = await asyncio.create_subprocess_exec(
        str(python),
        str(SCRIPTS / script),
        *args,
        cwd=cwd,
        env={**clean_env(), **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode == 0, f"{script} failed:\n{err.decode()}\n{out.decode()}"
    return out.decode()


def start_script(
    python: Path, script: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start sdk_scripts/`script` (or a path) as a process of its own (output in
    cwd/<script>.log)."""
    with (cwd / f"{Path(script).stem}.log").open("ab") as log:
        return subprocess.Popen(
            [str(python), str(SCRIPTS / script), *args],
            cwd=cwd,
            env={**clean_env(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
