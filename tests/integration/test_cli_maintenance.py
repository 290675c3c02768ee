"""The maintenance commands as subprocesses against real services and Redis: the DLQ
(list, retry-all, purge), tasks cleanup and requeue-orphaned, the ids in a queue, health,
the breakers' manual controls and `schedules show`; each with its exit code on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from redis.asyncio import Redis

from taskflow.errors import NotFound
from taskflow.store import TaskState, TaskStore
from tests.support.cli import services, taskflow
from tests.support.waiting import wait_for_state

UNKNOWN_ID = "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11"


async def test_dlq_list_retry_all_and_purge(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    async with services(redis_url, redis_client) as env:
        ids = [
            (await taskflow("submit", "--type", "doomed", f"x{i}", env=env)).out.split()[0]
            for i in range(2)
        ]
        listed = await taskflow("dlq", "list", "--json", env=env)
        table = await taskflow("dlq", "list", env=env)
        retried = await taskflow("dlq", "retry-all", "--reset-retries", env=env)
        for task_id in ids:  # doomed fails for good again
            await wait_for_state(store, task_id, TaskState.DLQ, within=60)
        unconfirmed = await taskflow("dlq", "purge", env=env)
        purged = await taskflow("dlq", "purge", "--confirm", env=env)
        empty = await taskflow("dlq", "list", "--json", env=env)
    assert listed.code == 0, listed.err
    assert {t["task_id"] for t in json.loads(listed.out)["tasks"]} == set(ids)
    assert all(t["error_type"] == "PermanentError" for t in json.loads(listed.out)["tasks"])
    assert all(task_id in table.out for task_id in ids)
    assert retried.code == 0, retried.err
    assert "Retried 2" in retried.err
    assert unconfirmed.code == 1
    assert "--confirm" in unconfirmed.err
    assert purged.code == 0, purged.err
    assert "Purged 2" in purged.err
    assert json.loads(empty.out) == {"tasks": []}
    for task_id in ids:
        with pytest.raises(NotFound):
            await store.get(task_id)


async def test_tasks_cleanup_requeue_orphaned_and_queue_ids(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    async with services(redis_url, redis_client) as env:
        done = (await taskflow("submit", "--type", "echo", "fine", env=env)).out.split()[0]
        later = await taskflow("submit", "--type", "echo", "--in", "1h", "--no-wait", "z", env=env)
        later_id = later.out.split()[0]
        scheduled = await taskflow("queues", "tasks", "scheduled", "--json", env=env)
        primary = await taskflow("queues", "tasks", "primary", env=env)
        no_queue = await taskflow("queues", "tasks", "nowhere", env=env)
        everything = await taskflow("tasks", "cleanup", env=env)
        bad_age = await taskflow("tasks", "cleanup", "--older-than", "soon", env=env)
        bad_state = await taskflow("tasks", "cleanup", "--status", "sleeping", env=env)
        too_young = await taskflow(
            "tasks", "cleanup", "--status", "completed", "--older-than", "1h", env=env
        )
        minutes = await taskflow("series", "--minutes", "5", "--json", env=env)
        chart = await taskflow("series", env=env)
        cleaned = await taskflow("tasks", "cleanup", "--status", "completed", env=env)
        orphans = await taskflow("tasks", "requeue-orphaned", env=env)
    assert scheduled.code == 0, scheduled.err
    assert json.loads(scheduled.out)["task_ids"] == [later_id]
    assert primary.code == 0, primary.err
    assert "(queue primary is empty)" in primary.out
    assert no_queue.code == 3
    assert "nowhere" in no_queue.err
    assert (everything.code, bad_age.code, bad_state.code) == (2, 2, 2)
    assert "refusing to delete everything" in everything.err
    assert "soon" in bad_age.err
    assert too_young.code == 0, too_young.err
    assert "Deleted 0" in too_young.err
    assert minutes.code == 0, minutes.err
    points = json.loads(minutes.out)["points"]
    assert len(points) == 5
    assert sum(int(p["completed"]) for p in points) >= 1  # the echo task above
    assert chart.code == 0, chart.err
    assert "completed" in chart.out
    assert cleaned.code == 0, cleaned.err
    assert "Deleted 1" in cleaned.err
    with pytest.raises(NotFound):
        await store.get(done)
    assert (await store.get(later_id)).state is TaskState.SCHEDULED
    assert orphans.code == 0, orphans.err
    assert "Found 0, requeued 0" in orphans.err
    for ran in (no_queue, everything, bad_age, bad_state):
        assert "Traceback" not in ran.err


async def test_health_breakers_provider_and_schedule_show(
    redis_url: str, redis_client: Redis
) -> None:
    async with services(redis_url, redis_client) as env:
        provider = await taskflow("provider", "--days", "3", "--json", env=env)
        provider_human = await taskflow("provider", env=env)
        no_days = await taskflow("provider", "--days", "0", env=env)
        health = await taskflow("health", "--json", env=env)
        human = await taskflow("health", env=env)
        opened = await taskflow("breakers", "open", "--json", env=env)
        reset = await taskflow("breakers", "reset", env=env)
        unknown = await taskflow("breakers", "reset", "--service", "no-such-provider", env=env)
        made = await taskflow("schedules", "create", "--type", "echo", "--every", "1h", env=env)
        sid = made.out.strip()
        shown = await taskflow("schedules", "show", sid, env=env)
        missing = await taskflow("schedules", "show", UNKNOWN_ID, env=env)
    assert provider.code == 0, provider.err
    seen = json.loads(provider.out)
    assert seen["status"]["status"].startswith("PROVIDER_STATE_")
    assert {"tokens", "capacity", "enabled"} <= set(seen["rate_limit"])
    assert len(seen["days"]["days"]) == 3
    assert provider_human.code == 0, provider_human.err
    assert "Provider: " in provider_human.out
    assert "Rate limit: " in provider_human.out
    assert no_days.code == 2
    assert health.code == 0, health.err
    answer = json.loads(health.out)
    assert answer["redis"]["connected"] is True
    assert answer["system"]["status"] in {"HEALTH_STATUS_HEALTHY", "HEALTH_STATUS_DEGRADED"}
    assert "redis" in answer["system"]["components"]
    assert human.code == 0, human.err
    assert "Redis: connected" in human.out
    assert opened.code == 0, opened.err
    assert json.loads(opened.out)["successful_opens"] >= 1
    assert reset.code == 0, reset.err
    assert "Reset" in reset.err
    assert unknown.code == 3, unknown.err
    assert made.code == 0, made.err
    assert shown.code == 0, shown.err
    schedule = json.loads(shown.out)
    assert (schedule["schedule_id"], schedule["spec"]["task_type"]) == (sid, "echo")
    assert missing.code == 3
    assert "NOT_FOUND" in missing.err


async def test_submit_many_creates_in_batches_and_refuses_bad_lines(
    redis_url: str, redis_client: Redis, store: TaskStore, tmp_path: Path
) -> None:
    lines = [
        json.dumps({"task_type": "echo", "content": f"n{i}", "metadata": {"i": i}})
        for i in range(5)
    ]
    good = tmp_path / "tasks.jsonl"
    good.write_text("\n".join([*lines[:2], "", *lines[2:]]) + "\n")
    not_json = tmp_path / "broken.jsonl"
    not_json.write_text(lines[0] + "\n{nope\n")
    unknown_field = tmp_path / "field.jsonl"
    unknown_field.write_text('{"task_type": "echo", "colour": "red"}\n')
    refused = tmp_path / "refused.jsonl"
    refused.write_text("\n".join([lines[0], lines[1], '{"task_type": "no_such_type"}']) + "\n")
    async with services(redis_url, redis_client) as env:
        made = await taskflow("submit-many", str(good), "--batch-size", "2", env=env)
        ids = made.out.split()
        for task_id in ids:
            await wait_for_state(store, task_id, TaskState.COMPLETED, within=60)
        broken = await taskflow("submit-many", str(not_json), env=env)
        field = await taskflow("submit-many", str(unknown_field), env=env)
        missing = await taskflow("submit-many", str(tmp_path / "nothing.jsonl"), env=env)
        half = await taskflow("submit-many", str(refused), "--batch-size", "2", env=env)
    assert made.code == 0, made.err
    assert len(ids) == 5
    assert [(await store.get(i)).result for i in ids] == [f"n{i}" for i in range(5)]
    assert "created 4 of 5" in made.err
    assert (broken.code, field.code, missing.code) == (2, 2, 2)
    assert "line 2" in broken.err
    assert "colour" in field.err
    assert "nothing.jsonl" in missing.err
    assert half.code == 2, half.err
    assert len(half.out.split()) == 2
    assert "no_such_type" in half.err
    assert "the 2 tasks printed above were created" in half.err
    for ran in (broken, field, missing, half):
        assert "Traceback" not in ran.err
