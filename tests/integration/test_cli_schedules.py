"""`taskflow schedules ...` as a subprocess against real services and Redis."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from taskflow.store import TaskState, TaskStore
from taskflow.store.schedules import ScheduleStore
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
    assert gone.code == 3  # no such schedule, as for a task
    assert "NOT_FOUND" in gone.err
    assert "Traceback" not in bad.err + gone.err
    assert await redis_client.zcard(store.keys.schedules_all) == 0


async def test_schedules_update_changes_the_fields_given_and_keeps_the_rest(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    schedules = ScheduleStore(redis_client)
    async with services(redis_url, redis_client) as env:
        made = await taskflow(
            "schedules", "create", "--type", "echo", "--content", "old",
            "--cron", "0 9 * * *", "--tz", "Europe/Paris", env=env,
        )  # fmt: skip
        (sid,) = made.out.split()
        to_interval = await taskflow(
            "schedules", "update", sid, "--every", "90s", "--content", "new",
            "--metadata", '{"team": "ops"}', "--priority", "3", "--max-retries", "5",
            "--misfire", "run-once", "--overlap", "skip", env=env,
        )  # fmt: skip
        after_interval = (await schedules.get(sid)).spec
        to_cron = await taskflow(
            "schedules", "update", sid, "--cron", "*/5 * * * *", "--tz", "Asia/Tokyo",
            "--type", "echo", env=env,
        )  # fmt: skip
        after_cron = (await schedules.get(sid)).spec
        bad = await taskflow("schedules", "update", sid, "--cron", "nope", env=env)
        bad_json = await taskflow("schedules", "update", sid, "--metadata", "[1]", env=env)
        missing = await taskflow(
            "schedules", "update", str(uuid.uuid4()), "--content", "x", env=env
        )
        unchanged = (await schedules.get(sid)).spec
    assert (to_interval.code, to_cron.code) == (0, 0), to_interval.err + to_cron.err
    assert "next fire" in to_interval.out
    assert after_interval.task_type == "echo"
    assert (after_interval.cron, after_interval.interval_ms) == ("", 90_000)
    assert after_interval.content == "new"
    assert dict(after_interval.metadata) == {"team": "ops"}
    assert (after_interval.priority, after_interval.max_retries) == (3, 5)
    assert (after_interval.misfire, after_interval.overlap) == ("run_once", "skip")
    assert (after_cron.cron, after_cron.time_zone, after_cron.interval_ms) == (
        "*/5 * * * *", "Asia/Tokyo", 0,
    )  # fmt: skip
    # What the second update did not name stayed as the first one left it.
    assert (after_cron.content, after_cron.priority, after_cron.overlap) == ("new", 3, "skip")
    assert bad.code == 2
    assert "INVALID_ARGUMENT" in bad.err
    assert bad_json.code == 2
    assert "JSON object" in bad_json.err
    assert missing.code == 3
    assert "NOT_FOUND" in missing.err
    assert unchanged == after_cron
