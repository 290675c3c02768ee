"""A real Sentinel deployment from the bundled server binary: a master, a replica,
and three sentinels watching them (quorum 2), all on free loopback ports."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from taskflow.redis_server import (
    BundledRedis,
    free_port,
    valkey_server_binary,
    wait_until_answering,
)

MASTER_NAME = "mymaster"
SENTINELS = 3
QUORUM = 2
# A master silent this long is down for a sentinel; quick, so failover tests are short.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


class SentinelProcess:
    """One `valkey-server <conf> --sentinel`; it rewrites its conf, so each has its own."""

    def __init__(
        self,
        data_dir: Path,
        master: BundledRedis,
        *,
        password: str | None = None,
        master_password: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.master = master
        self.password = password
        self.master_password = master_password
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "sentinel.conf"
        conf.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {self.data_dir.resolve()}\n"
            "logfile sentinel.log\n"
            f"sentinel monitor {MASTER_NAME} {self.master.host} {self.master.port} {QUORUM}\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
            + (f"requirepass {self.password}\n" if self.password else "")
            + (f"sentinel auth-pass {MASTER_NAME} {self.master_password}\n"
               if self.master_password else "")
        )  # fmt: skip
        self._process = subprocess.Popen(
            [str(valkey_server_binary()), str(conf), "--sentinel"],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until_answering(
            self._process,
            "127.0.0.1",
            self.port,
            timeout,
            log_file=self.data_dir / "sentinel.log",
            password=self.password,
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class SentinelDeployment:
    master: BundledRedis
    replica: BundledRedis
    sentinels: list[SentinelProcess]
    master_password: str | None = None
    sentinel_password: str | None = None

    @property
    def sentinel_list(self) -> str:
        """The REDIS_SENTINELS value naming every sentinel."""
        return ",".join(s.address for s in self.sentinels)

    def master_port(self) -> int:
        """The master's port as the first sentinel that answers reports it."""
        for sentinel in self.sentinels:
            try:
                with redis.Redis(
                    port=sentinel.port, password=self.sentinel_password, socket_timeout=1
                ) as client:
                    _, port = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                    return int(port)
            except redis.exceptions.ConnectionError:
                continue
        raise RuntimeError("no sentinel answered")

    def wait_until_watched(self, timeout: float = 60.0) -> None:
        """Until every sentinel knows the replica and the other sentinels, and the
        replica is in sync: only then can a failover happen."""
        deadline = time.monotonic() + timeout
        for sentinel in self.sentinels:
            with redis.Redis(
                port=sentinel.port, password=self.sentinel_password, decode_responses=True
            ) as client:
                while True:
                    state = client.sentinel_master(MASTER_NAME)
                    if state["num-slaves"] >= 1 and state["num-other-sentinels"] >= SENTINELS - 1:
                        break
                    _before(deadline, "the sentinels to see the replica and each other")
        wait_until_in_sync(
            self.replica, max(deadline - time.monotonic(), 0.0), password=self.master_password
        )

    def wait_for_new_master(self, old_port: int, timeout: float = 30.0) -> int:
        """The port of the promoted replica, once the sentinels name it master and it
        acts as one."""
        deadline = time.monotonic() + timeout
        while (port := self.master_port()) == old_port:
            _before(deadline, "a sentinel failover")
        with redis.Redis(port=port, password=self.master_password, decode_responses=True) as client:
            while client.info("replication")["role"] != "master":
                _before(deadline, "the promoted replica to take the master role")
        return port


def wait_until_in_sync(
    replica: BundledRedis, timeout: float = 60.0, *, password: str | None = None
) -> None:
    """Until the replica's link to its master is up and the append-only file it
    rewrites after the first sync is written (it ignores SIGTERM until then)."""
    deadline = time.monotonic() + timeout
    with redis.Redis(port=replica.port, password=password, decode_responses=True) as client:
        while client.info("replication").get("master_link_status") != "up":
            _before(deadline, "the replica to sync")
        while _rewriting_aof(client.info("persistence")):
            _before(deadline, "the replica's append-only file")


def _wait_until_online(master: BundledRedis, timeout: float = 60.0) -> None:
    """Until the master counts its replica as online (only then does WAIT count it)."""
    deadline = time.monotonic() + timeout
    with redis.Redis(port=master.port) as client:
        while client.info("replication").get("slave0", {}).get("state") != "online":
            _before(deadline, "the master to see its replica online")


def _rewriting_aof(persistence: dict[str, Any]) -> bool:
    return bool(persistence["aof_rewrite_in_progress"] or persistence["aof_rewrite_scheduled"])


def _before(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(f"waited too long for {what}")
    time.sleep(0.1)


@contextmanager
def replicated(
    data_dir: Path, *, password: str | None = None
) -> Iterator[tuple[BundledRedis, BundledRedis]]:
    """A master and its replica, in sync, both requiring `password` if given; both
    stopped at the end."""
    with ExitStack() as stack:
        # Start the first sync at once, not after the default 5 s diskless delay.
        master = BundledRedis(data_dir / "master", extra_args=("--repl-diskless-sync-delay", "0"))
        stack.enter_context(master)
        replica = BundledRedis(
            data_dir / "replica", extra_args=("--replicaof", master.host, str(master.port))
        )
        stack.enter_context(replica)
        wait_until_in_sync(replica)
        _wait_until_online(master)
        if password:
            # Set once in sync: BundledRedis checks readiness without a password.
            for node in (replica, master):
                with redis.Redis(port=node.port) as client:
                    client.config_set("masterauth", password)
                    client.config_set("requirepass", password)
        yield master, replica


@contextmanager
def sentinel_deployment(
    data_dir: Path, *, master_password: str | None = None, sentinel_password: str | None = None
) -> Iterator[SentinelDeployment]:
    """Start the master, its replica and three sentinels; stop them all at the end."""
    with ExitStack() as stack:
        master, replica = stack.enter_context(replicated(data_dir, password=master_password))
        sentinels = []
        for index in range(SENTINELS):
            sentinel = SentinelProcess(
                data_dir / f"sentinel-{index}",
                master,
                password=sentinel_password,
                master_password=master_password,
            )
            stack.callback(sentinel.stop)
            sentinel.start()
            sentinels.append(sentinel)
        deployment = SentinelDeployment(
            master, replica, sentinels, master_password, sentinel_password
        )
        deployment.wait_until_watched()
        yield deployment
