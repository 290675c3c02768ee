"""The idle executor's wake-up path (issue 19): a claim that runs the lists dry says
so and answers when the next scheduled task falls due, so an idle worker goes from a
wake-up to one claim and back to waiting, with no second claim and no ZRANGE + TIME
round trip of its own before it blocks again."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.executor.remote_session import Assigned, Outcome, RemoteSession, SessionConfig
from services.executor.worker import Worker, WorkerConfig
from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.tasks import load_task_modules
from tests.support.waiting import eventually

WORKER = "w-idle"


@pytest.fixture(autouse=True)
def _task_types() -> None:
    load_task_modules(["tests.support.tasks"])


async def test_a_claim_that_runs_the_lists_dry_answers_the_next_due_time(
    store: TaskStore,
) -> None:
    empty = await store.claim(WORKER, 5)
    assert empty == []
    assert empty.drained
    assert empty.next_due_in_s is None

    await store.create(NewTask("echo", run_at=datetime.now(UTC) + timedelta(seconds=30)))
    await store.create_many([NewTask("echo", str(i)) for i in range(3)])
    # Three to take and room for five: the lists ran dry, the delayed one is 30 s out.
    partial = await store.claim(WORKER, 5)
    assert len(partial) == 3
    assert partial.drained
    assert partial.next_due_in_s is not None
    assert 20 < partial.next_due_in_s <= 30.01

    await store.create_many([NewTask("echo", str(i)) for i in range(3)])
    # Room for two of three: more to take, so no word of a due time.
    full = await store.claim(WORKER, 2)
    assert len(full) == 2
    assert not full.drained
    assert full.next_due_in_s is None
    # The same answer riding with completions (complete_and_claim.lua).
    _, rest = await store.complete_and_claim([(full[0], "done")], WORKER, 5)
    assert not isinstance(rest, Exception)
    assert len(rest) == 1
    assert rest.drained
    assert rest.next_due_in_s is not None


async def blocked_clients(client: Redis) -> int:
    clients = await client.client_list()
    return sum(1 for c in clients if c.get("cmd") == "blpop" and "b" in c.get("flags", ""))


@contextlib.asynccontextmanager
async def sent_commands(redis_url: str, but: str) -> AsyncIterator[list[list[str]]]:
    """Every command sent by a client other than `but` (host:port) while the block
    runs (MONITOR; the commands scripts run left out), as argument lists."""
    seen: list[list[str]] = []
    client = Redis.from_url(redis_url)
    started = asyncio.Event()

    async def watch() -> None:
        async with client.monitor() as monitor:
            started.set()
            async for command in monitor.listen():
                address = f"{command.get('client_address')}:{command.get('client_port')}"
                if command.get("client_type") != "lua" and address != but:
                    seen.append(str(command["command"]).split())

    watcher = asyncio.create_task(watch())
    await asyncio.wait_for(started.wait(), 30)
    await asyncio.sleep(0.1)  # MONITOR acknowledged before the block's commands
    try:
        yield seen
    finally:
        await asyncio.sleep(0.1)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await client.aclose()


async def test_an_idle_wakeup_claims_once_and_reads_no_due_time_itself(
    store: TaskStore, redis_url: str
) -> None:
    # This test's own commands go through one connection, left out of the count.
    mine = Redis.from_url(redis_url, single_connection_client=True)
    probe = TaskStore(mine, store.config)
    own = str((await mine.client_info())["addr"])
    stop = asyncio.Event()
    # Two slots a lane: one task leaves room, so its claim runs the lists dry.
    worker = Worker(store, WorkerConfig(concurrency=4, heartbeat_s=30))
    runner = asyncio.create_task(worker.run(stop))
    try:

        async def both_lanes_waiting() -> bool:
            return await blocked_clients(mine) == 2

        await eventually(both_lanes_waiting, within=60, what="both lanes blocked on BLPOP")
        async with sent_commands(redis_url, own) as seen:
            created = await probe.create(NewTask("echo", "wake"))
            key = probe.keys.task(created.task_id)

            async def completed() -> bool:
                return await mine.hget(key, "state") == TaskState.COMPLETED.value.encode()

            await eventually(completed, within=60, what="the task completed")
            await eventually(both_lanes_waiting, within=60, what="both lanes waiting again")
    finally:
        stop.set()
        await runner
        await mine.aclose()

    verbs = [command[0].strip("'\"").upper() for command in seen]
    functions = [c[1].strip("'\"") for c, verb in zip(seen, verbs, strict=True) if verb == "FCALL"]
    claims = [f for f in functions if f.endswith("_claim")]
    completes = [f for f in functions if f.endswith("_complete")]
    # No due-time read of its own before blocking again.
    sent = " | ".join(" ".join(c[:3]) for c in seen)
    assert "ZRANGE" not in verbs, sent
    assert "TIME" not in verbs, sent
    # The task completed on its own: no second claim riding with it to find the
    # lists empty (the claim that woke the lane said they were).
    assert len(completes) == 1, sent
    assert not [f for f in functions if f.endswith("_complete_and_claim")], sent
    # The wake-up's claim, then the lane blocks again (a lane whose BLPOP timed out
    # meanwhile adds a claim and a BLPOP of its own).
    assert claims, sent
    assert "BLPOP" in verbs, sent


async def test_a_remote_workers_idle_wakeup_reads_no_due_time_itself(
    store: TaskStore, redis_url: str
) -> None:
    """The remote session (WorkerService.Work's Redis side) waits on its queue's
    wake-up list with the due time its claim answered, as the executor's lanes."""
    mine = Redis.from_url(redis_url, single_connection_client=True)
    probe = TaskStore(mine, store.config)
    own = str((await mine.client_info())["addr"])
    config = SessionConfig(
        worker_id="remote-idle",
        queue="remote-idle",
        executor_id="e-idle",
        heartbeat_s=30,
        retry_delay_scale=1.0,
        concurrency=4,
        task_types=("remote_echo",),
    )
    session = RemoteSession(store, config)
    session.grant(4)
    stop = asyncio.Event()
    runner = asyncio.create_task(session.run(stop))
    try:

        async def waiting() -> bool:
            return await blocked_clients(mine) == 1

        await eventually(waiting, within=60, what="the session blocked on BLPOP")
        async with sent_commands(redis_url, own) as seen:
            created = await probe.create(NewTask("remote_echo", "wake", queue="remote-idle"))
            async with asyncio.timeout(60):
                while not isinstance(message := await session.outbox.get(), Assigned):
                    pass
            assert [t.task_id for t in message.tasks] == [created.task_id]
            (claim,) = message.tasks
            session.submit([Outcome(claim.task_id, claim.lease_token, result="done")], slots=1)
            key = probe.keys.task(created.task_id)

            async def completed() -> bool:
                return await mine.hget(key, "state") == TaskState.COMPLETED.value.encode()

            await eventually(completed, within=60, what="the task completed")
            await eventually(waiting, within=60, what="the session waiting again")
    finally:
        stop.set()
        await runner
        await mine.aclose()

    verbs = [command[0].strip("'\"").upper() for command in seen]
    functions = [c[1].strip("'\"") for c, verb in zip(seen, verbs, strict=True) if verb == "FCALL"]
    sent = " | ".join(" ".join(c[:3]) for c in seen)
    # The claim that took the task ran the lists dry and said when the next is due:
    # no ZRANGE + TIME before blocking again (a claim that finds none, after a
    # BLPOP that timed out meanwhile, says so too).
    assert "ZRANGE" not in verbs, sent
    assert "TIME" not in verbs, sent
    assert [f for f in functions if f.endswith("claim")], sent
    assert "BLPOP" in verbs, sent
    # One claim per wake-up: both lanes woke, one looked, found the lists dry, and
    # the session blocked again; no second claim to find them empty (a BLPOP that
    # timed out meanwhile adds a claim and a BLPOP of its own).
    steps = [
        "claim" if verb == "FCALL" and c[1].strip("'\"").endswith("claim") else verb
        for c, verb in zip(seen, verbs, strict=True)
        if verb == "BLPOP" or (verb == "FCALL" and c[1].strip("'\"").endswith("claim"))
    ]
    assert all(a != b for a, b in itertools.pairwise(steps)), sent
