"""Celery and RQ draining the same no-op work on the same Redis, from their own env.

They are installed into build/bench-env (bench/compare/requirements.txt) on first
use, never into the project; their workers and submitters run from that env as
subprocesses with their working directory in bench/compare/.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
BENCH_ENV = ROOT / "build" / "bench-env"
COMPARE = Path(__file__).resolve().parent / "compare"
# The no-ops count their runs in Redis in steps of this many (BENCH_COUNT_STEP, see
# compare/*.py), so counting costs Celery and RQ one INCRBY per 100 tasks, not per
# task; a forking RQ worker runs each job in a fresh child and counts every job.
COUNT_STEP = 100

SteadyDrain = Callable[[Callable[[], Awaitable[int]], int], Awaitable[float]]


def bench_env() -> Path:
    """The benchmark's own virtualenv, created on first use; returns its bin/."""
    python = BENCH_ENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["uv", "venv", "--quiet", str(BENCH_ENV)], check=True)
    subprocess.run(
        ["uv", "pip", "install", "--quiet", "--python", str(python),
         "-r", str(COMPARE / "requirements.txt")],
        check=True,
    )  # fmt: skip
    return BENCH_ENV / "bin"


Run = tuple[str, int, int, list[str], list[str]]


def runs(n: int, redis_url: str, bin_dir: Path) -> list[Run]:
    """(label, tasks, count step, submit command, worker command) per foreign worker."""
    python = str(bin_dir / "python")
    celery = [str(bin_dir / "celery"), "-A", "celery_app", "worker", "--loglevel=WARNING",
              "--without-heartbeat", "--without-gossip", "--without-mingle"]  # fmt: skip
    rq = [str(bin_dir / "rq"), "worker", "--burst", "--quiet", "-u", redis_url]
    forks = max(n // 20, 1)
    return [
        ("Celery, 1 worker process (--pool=solo)", n, COUNT_STEP,
         [python, "celery_app.py", str(n)], [*celery, "--pool=solo"]),
        ("Celery, prefork -c 1 (1 child process)", n, COUNT_STEP,
         [python, "celery_app.py", str(n)], [*celery, "--pool=prefork", "-c", "1"]),
        ("RQ SimpleWorker (no fork), 1 process, burst", n, COUNT_STEP,
         [python, "rq_jobs.py", str(n)], [*rq, "-w", "rq.SimpleWorker", "bench"]),
        ("RQ Worker (fork per job), 1 process, burst", forks, 1,
         [python, "rq_jobs.py", str(forks)], [*rq, "bench"]),
    ]  # fmt: skip


async def drain(
    client: Redis, n: int, submit: list[str], worker: list[str], env: dict[str, str],
    steady_drain: SteadyDrain,
) -> float:  # fmt: skip
    """Enqueue n no-ops, then time one worker draining them; Redis flushed afterwards."""
    submitter = await asyncio.create_subprocess_exec(*submit, cwd=COMPARE, env=env)
    if await submitter.wait() != 0:
        raise RuntimeError(f"{submit} failed")

    async def done() -> int:
        return int(await client.get("bench:done") or 0)

    process = await asyncio.create_subprocess_exec(
        *worker, cwd=COMPARE, env=env, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        return await steady_drain(done, n)
    finally:
        # A burst worker (RQ) exits by itself once the queue is empty; Celery never does.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 3.0)
        if process.returncode is None:
            process.terminate()
        await process.wait()
        await client.flushall()


async def compare(
    redis_url: str, client: Redis, n: int, steady_drain: SteadyDrain
) -> list[tuple[str, int, float]]:
    """(label, tasks, seconds) for each foreign worker, n rounded to COUNT_STEP."""
    n = max(n // COUNT_STEP, 1) * COUNT_STEP
    bin_dir = bench_env()
    env = dict(os.environ, BENCH_REDIS_URL=redis_url, PYTHONWARNINGS="ignore")
    results = []
    for label, count, step, submit, worker in runs(n, redis_url, bin_dir):
        run_env = dict(env, BENCH_COUNT_STEP=str(step))
        seconds = await drain(client, count, submit, worker, run_env, steady_drain)
        results.append((label, count, seconds))
    return results
