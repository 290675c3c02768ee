"""A restart of the bundled server keeps every acknowledged task (append-only file)."""

import socket
from pathlib import Path

import pytest
from redis.asyncio import Redis

from taskflow.redis_server import BundledRedis
from taskflow.store import NewTask, TaskState, TaskStore


@pytest.mark.parametrize("stop", ["graceful", "kill"])
async def test_acknowledged_tasks_survive_a_restart(tmp_path: Path, stop: str) -> None:
    # appendfsync=always: every write acknowledged to us is on disk, so even a
    # SIGKILL of the server loses nothing acknowledged.
    server = BundledRedis(tmp_path / "redis", appendfsync="always")
    server.start()
    client = Redis.from_url(server.url)
    store = TaskStore(client)
    created = await store.create_many([NewTask("summarize", f"text {i}") for i in range(50)])
    claims = await store.claim("w1", 5)
    await store.complete(claims[0], "done")
    await client.aclose()
    if stop == "kill":
        server.kill()
    else:
        server.stop()

    server = BundledRedis(tmp_path / "redis", port=server.port, appendfsync="always")
    server.start()
    client = Redis.from_url(server.url)
    store = TaskStore(client)
    try:
        tasks = [await store.get(c.task_id) for c in created]
        assert [t.content for t in tasks] == [f"text {i}" for i in range(50)]
        status = await store.status()
        assert status.states[TaskState.PENDING] == 45
        assert status.states[TaskState.ACTIVE] == 4
        assert status.states[TaskState.COMPLETED] == 1
        assert status.queues.primary == 45
        assert (await store.get(claims[0].task_id)).result == "done"
    finally:
        await client.aclose()
        server.stop()


def test_a_server_that_cannot_start_says_why_and_where_its_log_is(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = BundledRedis(tmp_path / "redis", port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match=r"exited with .*valkey\.log"):
            server.start(timeout=10)
    assert "Address already in use" in (tmp_path / "redis" / "valkey.log").read_text()
