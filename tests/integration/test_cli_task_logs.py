"""`taskflow submit --wait` shows progress (plain lines when not on a terminal) and
`taskflow logs ID [--follow]` prints a task's log lines, following a running task
live until it ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore
from tests.support.cli import services, start, taskflow


async def test_submit_shows_progress_and_logs_prints_the_lines(
    redis_url: str, redis_client: Redis
) -> None:
    async with services(redis_url, redis_client) as env:
        ran = await taskflow("submit", "--type", "chatty", "3:0.6", env=env)
        assert ran.code == 0, ran.err
        task_id, result = ran.out.splitlines()  # stdout: the id and the result only
        assert result == "chatted 3"
        shown = ran.err.splitlines()
        assert "ACTIVE (retries: 0/3) 100% step 3 of 3" in shown
        first = next(i for i, line in enumerate(shown) if "%" in line)
        assert first < shown.index("ACTIVE (retries: 0/3) 100% step 3 of 3")

        printed = await taskflow("logs", task_id, env=env)
    assert printed.code == 0, printed.err
    lines = printed.out.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "INFO     taskflow.task.chatty: chatty step 1",
        "INFO     taskflow.task.chatty: chatty step 2",
        "WARNING  taskflow.task.chatty: chatty step 3",
    ]


async def test_logs_follow_prints_lines_live_and_ends_with_the_task(
    redis_url: str, redis_client: Redis, store: TaskStore, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    async with services(redis_url, redis_client) as env:
        task = await store.create(NewTask("stepper", "3", metadata={"gate": str(gate)}))
        follow = await start("logs", task.task_id, "--follow", env=env)
        assert follow.stdout is not None
        await asyncio.to_thread(Path(f"{gate}.1").touch)
        async with asyncio.timeout(60):
            first = await follow.stdout.readline()
            second = await follow.stdout.readline()
        assert first.decode().rstrip().endswith("Bearer ***")
        # live: step 1's line is printed while the task waits for its next gate
        assert second.decode().rstrip().endswith("finished step 1")
        assert (await store.get(task.task_id)).state is TaskState.ACTIVE
        for step in (2, 3):
            await asyncio.to_thread(Path(f"{gate}.{step}").touch)
        async with asyncio.timeout(60):
            rest, err = await follow.communicate()
        assert follow.returncode == 0, err.decode()
        assert (await store.get(task.task_id)).state is TaskState.COMPLETED
    assert [line.split(": ", 1)[1] for line in rest.decode().splitlines()] == [
        "finished step 2",
        "finished step 3",
    ]
