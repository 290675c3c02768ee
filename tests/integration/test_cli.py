"""The `taskflow` command's own jobs: reset wipes our keys and nothing else."""

from __future__ import annotations

import subprocess
import sys

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskStore


def taskflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taskflow.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_reset_needs_confirmation_then_deletes_only_our_keys(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    await store.create_many([NewTask("noop", str(i)) for i in range(20)])
    await redis_client.set("someone-else:key", "keep me")
    env = {"REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}

    refused = taskflow("reset", env=env)
    assert refused.returncode == 1
    assert "--confirm" in refused.stderr
    assert await redis_client.dbsize() > 1

    done = taskflow("reset", "--confirm", env=env)
    assert done.returncode == 0, done.stderr
    assert await redis_client.keys("*") == [b"someone-else:key"]
    assert sum((await store.status()).states.values()) == 0
