"""A real three-node Redis Cluster from the bundled server binary, for tests."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis

from taskflow.redis_server import BundledRedis, free_port, valkey_server_binary

NODES = 3
BUS_OFFSET = 10000


@contextmanager
def redis_cluster(data_dir: Path) -> Iterator[list[BundledRedis]]:
    """Start three masters, join them, cover every slot; yields the nodes."""
    with ExitStack() as stack:
        nodes = []
        for index in range(NODES):
            node = BundledRedis(
                data_dir / f"node-{index}",
                port=_port_with_free_bus(),
                extra_args=("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
            )
            stack.enter_context(node)
            nodes.append(node)
        cli = valkey_server_binary().parent / "valkey-cli"
        subprocess.run(
            [str(cli), "--cluster", "create", *(f"{n.host}:{n.port}" for n in nodes),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        _wait_until_ok(nodes)
        yield nodes


def _port_with_free_bus() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    while True:
        port = free_port()
        if port + BUS_OFFSET > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + BUS_OFFSET))
            except OSError:
                continue
        return port


def _wait_until_ok(nodes: list[BundledRedis], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    for node in nodes:
        with redis.Redis(host=node.host, port=node.port, decode_responses=True) as client:
            while client.cluster("info").get("cluster_state") != "ok":
                if time.monotonic() > deadline:
                    raise TimeoutError("the cluster did not reach cluster_state:ok")
                time.sleep(0.1)
