"""The `taskflow` command as a client of running services: submit follows a task to
its result (or its failure) over the watch stream, status shows queues, states and
workers, and an unreachable service is a clear message, not a traceback."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from taskflow.redis_server import free_port
from tests.support.cli import clean_env, services, taskflow
from tests.support.tiny_pdf import text_pdf


async def test_submit_follows_a_task_to_its_result(redis_url: str, redis_client: Redis) -> None:
    async with services(redis_url, redis_client) as env:
        ran = await taskflow("submit", "--type", "echo", "hello from the command", env=env)
    assert ran.code == 0, ran.err
    task_id, result = ran.out.splitlines()
    assert len(task_id) == 36
    assert result == "hello from the command"
    assert "COMPLETED" in ran.err


async def test_submit_of_a_doomed_task_says_why_and_fails(
    redis_url: str, redis_client: Redis
) -> None:
    async with services(redis_url, redis_client) as env:
        ran = await taskflow("submit", "--type", "doomed", "x", env=env)
    assert ran.code == 1
    assert "DLQ" in ran.err
    assert "this input can never work" in ran.err


async def test_submit_of_a_task_whose_handler_crashes_shows_the_exception(
    redis_url: str, redis_client: Redis
) -> None:
    async with services(redis_url, redis_client) as env:
        ran = await taskflow("submit", "--type", "lookup", "missing", env=env)
    assert ran.code == 1
    assert "DLQ Default: KeyError: 'missing'" in ran.err
    assert "Traceback (most recent call last)" in ran.err
    assert "return table[ctx.content]" in ran.err


async def test_submit_of_a_pdf_and_without_waiting(
    redis_url: str, redis_client: Redis, tmp_path: Path
) -> None:
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(text_pdf([["Harbour reopens", "The harbour reopened on Monday."]]))
    async with services(redis_url, redis_client) as env:
        ran = await taskflow("submit", "--pdf", str(pdf), "--no-wait", env=env)
        assert ran.code == 0, ran.err
        (task_id,) = ran.out.split()
        stored = await redis_client.hget(f"task:{task_id}", "task_type")
    assert stored == b"pdfxtract"


async def test_bad_input_is_a_message_not_a_traceback(redis_url: str, redis_client: Redis) -> None:
    async with services(redis_url, redis_client) as env:
        empty = await taskflow("submit", "", env=env)
        unknown = await taskflow("submit", "--type", "no-such-type", "x", env=env)
    assert (empty.code, unknown.code) == (2, 2)
    assert "INVALID_ARGUMENT" in empty.err
    assert "INVALID_ARGUMENT" in unknown.err
    assert "no-such-type" in unknown.err
    assert "Traceback" not in empty.err + unknown.err


async def test_status_shows_queues_states_and_workers(redis_url: str, redis_client: Redis) -> None:
    async with services(redis_url, redis_client) as env:
        await taskflow("submit", "--type", "echo", "one", env=env)
        await taskflow("submit", "--type", "doomed", "two", env=env)
        ran = await taskflow("status", env=env)
    assert ran.code == 0, ran.err
    rows = {
        line.split("│")[1].strip(): line for line in ran.out.splitlines() if line.count("│") == 3
    }
    # Queues and states in tables of their own; zero rows are shown too (proto3
    # leaves zero fields out of ListFields).
    assert rows["primary"].split("│")[2].strip() == "0"
    assert rows["dlq"].split("│")[2].strip() == "1"
    assert rows["COMPLETED"].split("│")[2].strip() == "1"
    assert rows["PENDING"].split("│")[2].strip() == "0"
    assert "Executors: running" in ran.out
    assert "Workers: 1 (1 healthy, 0 stale)" in ran.out
    worker_row = next(line for line in ran.out.splitlines() if "healthy │" in line)
    assert "│    1 │      1 │" in worker_row  # one done, one failed


async def test_an_unreachable_stack_says_how_to_start_it() -> None:
    env = clean_env()
    env["TASKFLOW_MONITOR_ADDRESS"] = address = f"127.0.0.1:{free_port()}"
    ran = await taskflow("status", env=env)
    assert ran.code == 5
    assert f"cannot reach the monitor at {address}" in ran.err
    assert "taskflow up" in ran.err
    assert "TASKFLOW_MONITOR_ADDRESS" in ran.err
    assert "Traceback" not in ran.err
    assert len(ran.err.strip().splitlines()) <= 3


async def test_a_missing_pdf_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    ran = await taskflow("submit", "--pdf", str(tmp_path / "missing.pdf"), env=clean_env())
    assert ran.code == 2
    assert "missing.pdf" in ran.err
    assert "No such file" in ran.err
    assert "Traceback" not in ran.err


async def test_submit_in_and_at_run_the_task_later(redis_url: str, redis_client: Redis) -> None:
    async with services(redis_url, redis_client) as env:
        later = await taskflow("submit", "--type", "echo", "--in", "2s", "later", env=env)
        past = await taskflow(
            "submit", "--type", "echo", "--at", "2020-01-01T00:00:00+00:00", "--no-wait", env=env
        )
        bad = await taskflow("submit", "--type", "echo", "--in", "10 parsecs", "x", env=env)
    assert later.code == 0, later.err
    task_id, result = later.out.splitlines()
    assert result == "later"
    run_at, started_at = await redis_client.hmget(f"task:{task_id}", "run_at", "started_at")
    assert run_at
    assert started_at
    assert str(started_at) >= str(run_at)  # ISO 8601 in UTC: text order is time order
    assert past.code == 0, past.err
    assert not await redis_client.hget(f"task:{past.out.strip()}", "run_at")
    assert bad.code == 2
    assert "10 parsecs" in bad.err
    assert "Traceback" not in bad.err
