"""The scripts as one function library (taskflow/store/scripts.py): loaded once,
per-call state set per call, reloaded when the server lost it, and EVALSHA for a
server without functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from taskflow.errors import CorruptTask
from taskflow.redis_server import BundledRedis
from taskflow.store import NewTask, StoreConfig, TaskState, TaskStore
from taskflow.store import scripts as scripts_module
from taskflow.store.scripts import library


def fields(flat: list[Any]) -> dict[str, Any]:
    """A FUNCTION LIST entry (RESP2: a flat list of name, value) as a dict."""
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}


async def libraries(client: Redis) -> list[str]:
    return [fields(entry)["library_name"].decode() for entry in await client.function_list()]


async def commands(client: Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


async def lifecycle(store: TaskStore) -> None:
    """Create, claim, complete and claim again, fail: every kind of call once."""
    created = await store.create_many([NewTask("echo", str(i)) for i in range(3)])
    (first,) = await store.claim("w", 1)
    outcomes, claimed = await store.complete_and_claim([(first, "done")], "w", 1)
    assert outcomes == [None]
    assert isinstance(claimed, list)
    assert len(claimed) == 1
    assert await store.fail(claimed[0], "no", "E", permanent=True) is TaskState.DLQ
    assert (await store.get(created[0].task_id)).result == "done"
    status = await store.status()
    assert (status.states[TaskState.COMPLETED], status.states[TaskState.DLQ]) == (1, 1)
    assert status.states[TaskState.PENDING] == 1


async def test_the_scripts_run_from_one_library_named_after_their_sources(
    store: TaskStore, redis_client: Redis
) -> None:
    await redis_client.config_resetstat()
    await lifecycle(store)

    assert await libraries(redis_client) == [library().name]
    used = await commands(redis_client)
    assert used.get("fcall", 0) > 0
    assert "evalsha" not in used
    assert "eval" not in used
    (entry,) = await redis_client.function_list()
    names = {fields(f)["name"].decode() for f in fields(entry)["functions"]}
    assert names == set(library().functions.values())
    assert all(name.startswith(library().name + "_") for name in names)


async def test_each_call_sees_its_own_prefix(redis_client: Redis) -> None:
    one = TaskStore(redis_client, StoreConfig(prefix="one:"))
    two = TaskStore(redis_client, StoreConfig(prefix="two:"))
    await one.create_many([NewTask("echo", "a"), NewTask("echo", "b")])

    assert await two.claim("w", 5) == []  # the other prefix's call: nothing there
    claimed = await one.claim("w", 5)
    assert len(claimed) == 2
    assert await two.claim("w", 5) == []
    await one.complete_many([(c, "ok") for c in claimed])

    keys = {str(k, "utf-8") if isinstance(k, bytes) else k for k in await redis_client.keys()}
    assert {k for k in keys if not k.startswith("one:")} <= {
        "two:tasks:lease_seq",  # claim's one INCRBY, made by the empty claims
    }
    assert (await one.status()).states[TaskState.COMPLETED] == 2
    assert (await two.status()).states[TaskState.COMPLETED] == 0


async def test_a_call_that_failed_midway_leaves_nothing_to_the_next(
    store: TaskStore, redis_client: Redis
) -> None:
    await store.create_many([NewTask("echo", "a"), NewTask("echo", "b")])
    good, bad = await store.claim("w", 2)
    events_before = await redis_client.xlen(store.keys.events)
    # The second task of the batch is malformed: the script fails after the first
    # one's change was summed into the call's counters and events.
    await redis_client.hset(store.keys.task(bad.task_id), "retry_count", "many")

    with pytest.raises(CorruptTask):
        await store.complete_many([(good, "ok"), (bad, "ok")])
    await store.create(NewTask("echo", "next"))  # the next call, with its own finish()

    status = await store.status()
    assert status.states[TaskState.COMPLETED] == 0
    assert status.states[TaskState.PENDING] == 1
    # Only the create's event was written.
    assert await redis_client.xlen(store.keys.events) == events_before + 1


async def test_a_server_that_lost_the_library_gets_it_again(
    store: TaskStore, redis_client: Redis
) -> None:
    await store.create_many([NewTask("echo", str(i)) for i in range(4)])
    held = await store.claim("w", 2)
    await redis_client.function_flush()  # as a restart without persistence would

    outcomes, claimed = await store.complete_and_claim([(held[0], "done")], "w", 1)
    assert outcomes == [None]
    assert isinstance(claimed, list)
    assert len(claimed) == 1
    assert await libraries(redis_client) == [library().name]

    await redis_client.function_flush()  # now the pipelined path (one call per id)
    assert await store.delete_where([TaskState.PENDING], None) == 1


async def test_another_versions_library_is_left_alone_and_never_run(
    store: TaskStore, redis_client: Redis
) -> None:
    # A library as another version of the services would load: its own name.
    other = "taskflow_0000000000000000"
    await redis_client.function_load(
        f"#!lua name={other}\n"
        f"redis.register_function('{other}_claim', function() return 'old code' end)"
    )
    await store.create(NewTask("echo", "x"))

    (claimed,) = await store.claim("w", 1)

    assert claimed.content == "x"
    assert sorted(await libraries(redis_client)) == sorted([other, library().name])


async def test_evalsha_when_functions_are_turned_off(redis_client: Redis) -> None:
    await redis_client.function_flush()  # FLUSHALL (each test's start) keeps functions
    await redis_client.config_resetstat()
    store = TaskStore(redis_client, StoreConfig(functions=False))

    await lifecycle(store)

    assert await libraries(redis_client) == []
    used = await commands(redis_client)
    assert used.get("evalsha", 0) > 0
    assert "fcall" not in used


async def test_evalsha_on_a_server_without_functions(tmp_path: Path) -> None:
    # FCALL and FUNCTION renamed away: the server answers "unknown command", as
    # Redis 6 does.
    hidden = ("--rename-command", "FCALL", "hidden_fcall", "--rename-command", "FUNCTION", "x_fn")
    with BundledRedis(tmp_path / "data", extra_args=hidden) as server:
        client = Redis.from_url(server.url)
        try:
            store = TaskStore(client, StoreConfig())
            await lifecycle(store)
            used = await commands(client)
            assert used.get("evalsha", 0) > 0
            assert "function|load" not in used
        finally:
            await client.aclose()


async def test_the_library_is_kept_by_the_append_only_file(tmp_path: Path) -> None:
    server = BundledRedis(tmp_path / "data")
    server.start()
    try:
        client = Redis.from_url(server.url)
        await TaskStore(client).create(NewTask("echo", "x"))
        await client.aclose()
        server.kill()  # SIGKILL: the AOF has the FUNCTION LOAD (fsync'd each second at most)
        server.start()
        client = Redis.from_url(server.url)
        try:
            assert await libraries(client) == [library().name]
        finally:
            await client.aclose()
    finally:
        server.stop()


def test_the_library_name_follows_every_source(monkeypatch: pytest.MonkeyPatch) -> None:
    original = scripts_module._part
    names = {library().name}
    for changed in ("_prelude", "_claim", "complete_and_claim"):

        def edited(name: str, changed: str = changed) -> str:
            text = original(name)
            return text + "\n-- edited" if name == changed else text

        monkeypatch.setattr(scripts_module, "_part", edited)
        rebuilt = library.__wrapped__()
        assert rebuilt.functions["claim"].startswith(rebuilt.name + "_")
        names.add(rebuilt.name)
    assert len(names) == 4
