"""The operator's commands as subprocesses against real services: tasks list, show,
retry, cancel and delete; queues; workers; pause and resume; the live event tail. Each read
command prints JSON with --json, and the exit code tells a script what happened."""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from taskflow.store import TaskState, TaskStore
from tests.support.cli import services, start, taskflow
from tests.support.waiting import eventually


async def test_tasks_list_show_retry_and_delete(redis_url: str, redis_client: Redis) -> None:
    async with services(redis_url, redis_client) as env:
        doomed = await taskflow("submit", "--type", "doomed", "x", env=env)
        done = await taskflow("submit", "--type", "echo", "fine", env=env)
        doomed_id, done_id = doomed.out.split()[0], done.out.split()[0]

        listed = await taskflow("tasks", "list", "--status", "dlq", "--json", env=env)
        table = await taskflow("tasks", "list", "--type", "echo", env=env)
        shown = await taskflow("tasks", "show", doomed_id, "--json", env=env)
        human = await taskflow("tasks", "show", doomed_id, env=env)
        retried = await taskflow("tasks", "retry", doomed_id, env=env)
        not_retryable = await taskflow("tasks", "retry", done_id, env=env)
        deleted = await taskflow("tasks", "delete", done_id, env=env)
        gone = await taskflow("tasks", "show", done_id, env=env)
        bad_state = await taskflow("tasks", "list", "--status", "sleeping", env=env)

    page = json.loads(listed.out)
    assert listed.code == 0, listed.err
    assert [t["task_id"] for t in page["tasks"]] == [doomed_id]
    assert page["total_items"] == "1"  # int64 is a string in proto3 JSON
    assert table.code == 0
    assert done_id in table.out
    assert doomed_id not in table.out
    task = json.loads(shown.out)
    assert (task["state"], task["error_type"]) == ("TASK_STATE_DLQ", "PermanentError")
    assert "this input can never work" in human.out
    assert "DLQ" in human.out
    assert retried.code == 0
    assert "PENDING" in retried.err
    assert not_retryable.code == 4, not_retryable.err
    assert deleted.code == 0, deleted.err
    assert gone.code == 3
    assert "NOT_FOUND" in gone.err
    assert bad_state.code == 2
    assert "sleeping" in bad_state.err
    for ran in (not_retryable, gone, bad_state):
        assert "Traceback" not in ran.err


async def test_tasks_cancel_one_and_by_filter(redis_url: str, redis_client: Redis) -> None:
    async with services(redis_url, redis_client) as env:
        later = [
            (
                await taskflow(
                    "submit", "--type", "echo", "--in", "1h", "--no-wait", f"t{i}", env=env
                )
            ).out.split()[0]
            for i in range(3)
        ]
        one = await taskflow("tasks", "cancel", later[0], env=env)
        again = await taskflow("tasks", "cancel", later[0], env=env)
        by_filter = await taskflow("tasks", "cancel", "--status", "scheduled", env=env)
        cancelled = await taskflow("tasks", "list", "--status", "cancelled", "--json", env=env)
        neither = await taskflow("tasks", "cancel", env=env)
        unknown = await taskflow("tasks", "cancel", "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11", env=env)
    assert one.code == 0, one.err
    assert "CANCELLED" in one.err
    assert again.code == 4, again.err
    assert by_filter.code == 0, by_filter.err
    assert "2" in by_filter.err
    listed = {t["task_id"] for t in json.loads(cancelled.out)["tasks"]}
    assert listed == set(later)
    assert neither.code == 2
    assert unknown.code == 3
    for ran in (again, neither, unknown):
        assert "Traceback" not in ran.err


async def test_queues_and_workers_as_json(redis_url: str, redis_client: Redis) -> None:
    async with services(redis_url, redis_client) as env:
        await taskflow("submit", "--type", "doomed", "x", env=env)
        queues = await taskflow("queues", "--json", env=env)
        queues_table = await taskflow("queues", env=env)
        workers = await taskflow("workers", "--json", env=env)
        workers_table = await taskflow("workers", env=env)
    depths = json.loads(queues.out)
    assert depths["queues"]["dlq"] == "1"
    assert depths["queues"]["primary"] == "0"
    assert depths["states"]["dlq"] == "1"
    assert "Queues" in queues_table.out
    assert "Tasks by state" in queues_table.out
    (worker,) = json.loads(workers.out)["worker_details"]
    assert worker["hostname"]
    assert worker["pid"] > 0
    assert worker["concurrency"] > 0
    assert worker["failure_count"] == "1"
    assert worker["hostname"] in workers_table.out
    assert str(worker["pid"]) in workers_table.out


async def test_pause_shows_in_status_and_submit_until_resume(
    redis_url: str, redis_client: Redis
) -> None:
    async with services(redis_url, redis_client) as env:
        paused = await taskflow("pause", env=env)
        status = await taskflow("status", env=env)
        status_json = json.loads((await taskflow("status", "--json", env=env)).out)
        follower = await start("submit", "--type", "echo", "after the pause", env=env)
        assert follower.stderr is not None
        assert follower.stdout is not None
        async with asyncio.timeout(30):
            warning = await follower.stderr.readline()
        resumed = await taskflow("resume", env=env)
        async with asyncio.timeout(60):
            out, _ = await follower.communicate()
        after = json.loads((await taskflow("status", "--json", env=env)).out)
    assert paused.code == 0
    assert "Paused" in paused.err
    assert "PAUSED" in status.out
    assert status_json["paused"] is True
    assert b"paused" in warning
    assert b"taskflow resume" in warning
    assert resumed.code == 0
    assert follower.returncode == 0
    assert out.decode().splitlines()[-1] == "after the pause"
    assert after["paused"] is False


async def test_events_tail_filters_by_type_and_state(redis_url: str, redis_client: Redis) -> None:
    async with services(redis_url, redis_client) as env:
        tail = await start(
            "events", "--json", "--type", "echo", "--state", "COMPLETED", "--limit", "2", env=env
        )

        async def tail_ended() -> bool:
            # The tail may subscribe after the first tasks: keep the events coming.
            await taskflow("submit", "--type", "doomed", "noise", env=env)
            await taskflow("submit", "--type", "echo", "signal", env=env)
            return tail.returncode is not None or await _exited(tail)

        await eventually(tail_ended, within=60, what="the tail to print two events")
        out, err = await tail.communicate()
    assert tail.returncode == 0, err
    events = [json.loads(line) for line in out.decode().splitlines()]
    assert len(events) == 2
    for event in events:
        assert event["task_type"] == "echo"
        assert (event["event"], event["old_state"], event["new_state"]) == (
            "state_changed",
            "ACTIVE",
            "COMPLETED",
        )


async def _exited(process: asyncio.subprocess.Process) -> bool:
    try:
        await asyncio.wait_for(process.wait(), timeout=0.5)
    except TimeoutError:
        return False
    return True


async def test_types_lists_the_registered_task_types(redis_url: str, redis_client: Redis) -> None:
    async with services(redis_url, redis_client) as env:
        as_json = await taskflow("types", "--json", env=env)
        table = await taskflow("types", env=env)
    kinds = {kind["name"]: kind for kind in json.loads(as_json.out)["task_types"]}
    assert kinds["noop"]["builtin"] is True
    assert kinds["echo"]["builtin"] is False
    assert kinds["spin"]["cpu_bound"] is True
    assert table.code == 0
    assert "summarize" in table.out
    assert "echo" in table.out


async def test_one_queue_paused_and_resumed_from_the_cli(
    redis_url: str, redis_client: Redis
) -> None:
    async with services(redis_url, redis_client) as env:
        paused = await taskflow("queues", "pause", "default", env=env)
        again = await taskflow("queues", "pause", "default", env=env)
        held = await taskflow("submit", "--type", "echo", "--no-wait", "held", env=env)
        parked = await taskflow(
            "submit", "--type", "echo", "--queue", "emails", "--no-wait", "parked", env=env
        )
        table = await taskflow("queues", env=env)
        status = await taskflow("status", env=env)
        listed = json.loads((await taskflow("queues", "--json", env=env)).out)
        bad = await taskflow("queues", "pause", "Not A Queue", env=env)
        resumed = await taskflow("queues", "resume", "default", env=env)
        store = TaskStore(redis_client)
        task_id = held.out.split()[0]

        async def done() -> bool:
            return (await store.get(task_id)).state is TaskState.COMPLETED

        await eventually(done, what="the held task run once its queue resumed")
    assert paused.code == 0, paused.err
    assert "Paused queue default" in paused.err
    assert "paused already" in again.err
    assert "Named queues" in table.out
    assert "PAUSED" in table.out
    assert "PAUSED" in status.out
    (default,) = [q for q in listed["named_queues"] if q["name"] == "default"]
    assert default["paused"] is True
    assert default["primary"] == "1"
    (emails,) = [q for q in listed["named_queues"] if q["name"] == "emails"]
    assert emails["primary"] == "1"
    assert parked.code == 0, parked.err
    assert bad.code == 2, bad.err
    assert resumed.code == 0, resumed.err
