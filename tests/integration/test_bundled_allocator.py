"""The bundled valkey runs with jemalloc when the system has it, and only the server
does: the preload goes into its environment, not ours."""

from __future__ import annotations

import os
from pathlib import Path

import redis

from taskflow.redis_server import BundledRedis, jemalloc_library


def mapped_libraries(server: BundledRedis) -> str:
    with redis.Redis.from_url(server.url) as client:
        pid = int(client.info("server")["process_id"])
        assert client.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "k", "v")
        assert client.get("k") == b"v"
    return Path(f"/proc/{pid}/maps").read_text()


def test_the_server_runs_with_jemalloc_when_the_system_has_it(tmp_path: Path) -> None:
    with BundledRedis(tmp_path / "data") as server:
        maps = mapped_libraries(server)
    library = jemalloc_library()
    if library is None:  # a machine without libjemalloc2: glibc malloc, as built
        assert server.allocator is None
        assert "jemalloc" not in maps
    else:
        assert server.allocator == library
        assert str(library.resolve()) in maps or library.name in maps
    assert "jemalloc" not in os.environ.get("LD_PRELOAD", "")


def test_the_preload_can_be_turned_off(tmp_path: Path) -> None:
    with BundledRedis(tmp_path / "data", jemalloc=False) as server:
        maps = mapped_libraries(server)
    assert server.allocator is None
    assert "jemalloc" not in maps
