"""`taskflow schedules ...` as a subprocess against real services and Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from taskflow.store import TaskState, TaskStore
from tests.support.cli import services, taskflow
from tests.support.waiting import wait_for_state


async def test_schedules_from_the_command_line(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    async with services(redis_url, redis_client) as env:
        made = await taskflow(
            "schedules", "create", "--type", "echo", "--content", "from cron",
            "--cron", "0 9 * * 1-5", "--tz", "Europe/Paris", "--misfire", "run-once", env=env,
        )  # fmt: skip
        assert made.code == 0, made.err
        (sid,) = made.out.split()
        paused = await taskflow("schedules", "pause", sid, env=env)
        triggered = await taskflow("schedules", "trigger", sid, env=env)
        assert triggered.code == 0, triggered.err
        (task_id,) = triggered.out.split()
        await wait_for_state(store, task_id, TaskState.COMPLETED, within=30)
        listed = await taskflow("schedules", "list", env=env)
        resumed = await taskflow("schedules", "resume", sid, env=env)
        deleted = await taskflow("schedules", "delete", sid, env=env)
        bad = await taskflow("schedules", "create", "--type", "echo", "--cron", "nope", env=env)
        gone = await taskflow("schedules", "delete", sid, env=env)
    assert (paused.code, resumed.code, deleted.code) == (0, 0, 0)
    row = next(line for line in listed.out.splitlines() if sid in line)
    assert "0 9 * * 1-5 (Europe/Paris)" in row
    assert "│ yes" in row  # paused
    assert task_id in row
    assert "COMPLETED" in row
    assert bad.code == 2
    assert "INVALID_ARGUMENT" in bad.err
    assert "cron" in bad.err
    assert gone.code == 2
    assert "NOT_FOUND" in gone.err
    assert "Traceback" not in bad.err + gone.err
    assert await redis_client.zcard(store.keys.schedules_all) == 0
