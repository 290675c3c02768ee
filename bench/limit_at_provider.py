"""The shared rate limit as the provider sees it: executor processes against a fake.

`uv run --frozen python -m bench.limit_at_provider` (defaults: 4 executor
processes of 8 slots, a limit of 20 calls per 2 s, 300 summarize tasks). A fresh
bundled server, the local fake provider (tests/support/fake_openai.py, which
records each request's arrival as the kernel's receive time) and an in-process
scheduler that promotes the tasks whose callers gave up waiting for a token.
Reports the busiest window of one interval at the provider and the utilisation
of the limit: calls after the first interval's burst, over the time from the
first arrival to the last, against the limit's rate (and the same without the
drain at the end, when fewer tasks are left than callers are waiting).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

from bench.common import bundled_server, host
from taskflow.store import NewTask, TaskState, TaskStore
from tests.support.fake_openai import FakeOpenAI, provider_overrides
from tests.support.processes import service_env, start_service
from tests.support.stack import scheduler, settings_for
from tests.support.waiting import eventually


async def measure(executors: int, requests: int, interval: float, tasks: int, wait: float) -> None:
    where = f"{host()}; {time.strftime('%H:%M:%S')}"
    with bundled_server() as server, FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        client = Redis.from_url(server.url)
        store = TaskStore(client)
        overrides = provider_overrides(
            fake,
            OPENROUTER_RATE_LIMIT_REQUESTS=requests,
            OPENROUTER_RATE_LIMIT_INTERVAL=f"{interval:g}s",
            OPENROUTER_RATE_LIMIT_WAIT=wait,
            OPENROUTER_TIMEOUT=30,
            WORKER_CONCURRENCY=8,
            TASKFLOW_RETRY_DELAY_SCALE=0.01,
            LOG_LEVEL="WARNING",
        )
        env = {k: str(v) for k, v in overrides.items()}
        started: list[subprocess.Popen[bytes]] = [
            start_service("executor", service_env(server.url, **env), Path(tmp) / f"{n}.log")
            for n in range(executors)
        ]
        try:
            async with scheduler(settings_for(server.url), client):
                await store.create_many(
                    [NewTask("summarize", f"Text {i}. Two sentences.") for i in range(tasks)]
                )

                async def all_done() -> bool:
                    return (await store.status()).states[TaskState.COMPLETED] >= tasks

                await eventually(all_done, within=600, what=f"{tasks} tasks completed")
        finally:
            for process in started:
                process.terminate()
                process.wait(60)
            await client.aclose()
        arrivals = sorted(r.at for r in fake.received())
    busiest = max(sum(1 for t in arrivals if s <= t < s + interval) for s in arrivals)
    span = arrivals[-1] - arrivals[0]
    utilisation = (len(arrivals) - requests) / span / (requests / interval)
    # Without the drain at the end, when fewer tasks are left than callers wait.
    steady = arrivals[:-requests]
    saturated = (len(steady) - requests) / (steady[-1] - steady[0]) / (requests / interval)
    print(where)
    print(
        f"  {executors} executors x 8 slots, limit {requests} per {interval:g} s, {tasks} tasks,"
        f" token wait {wait:g} s"
    )
    print(f"  calls at the provider: {len(arrivals)} over {span:.1f} s")
    print(f"  busiest {interval:g} s window at the provider: {busiest} (limit {requests})")
    print(f"  utilisation of the limit, first to last call: {utilisation:.1%}")
    print(f"  the same without the last {requests} calls (the drain): {saturated:.1%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executors", type=int, default=4)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--wait", type=float, default=2.5, help="OPENROUTER_RATE_LIMIT_WAIT")
    args = parser.parse_args()
    asyncio.run(measure(args.executors, args.requests, args.interval, args.tasks, args.wait))
