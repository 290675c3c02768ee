"""A private network of "hosts" made of Linux network namespaces, for multi-host tests.

Each host is a namespace with one veth link to a bridge that lives in a namespace
of its own (the switch), so the machine's firewall and routes play no part. The
test process joins the network as one more host (a veth end in the root namespace)
and so reaches every service directly. Names carry a random run id; `close` kills
what ran in the namespaces and deletes every namespace and link, whatever happened.
"""

from __future__ import annotations

import ipaddress
import random
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PREFIX_LENGTH = 24


class NetnsUnavailable(RuntimeError):
    """This process may not create network namespaces (no root / CAP_NET_ADMIN)."""


@dataclass
class Host:
    name: str
    namespace: str
    address: str
    # This host's end of the link on the switch: down means the host is cut off.
    switch_port: str


@dataclass
class PrivateNetwork:
    run_id: str
    subnet: ipaddress.IPv4Network
    switch: str
    client_link: str
    client_address: str
    hosts: dict[str, Host] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_host(self, name: str) -> Host:
        index = len(self.hosts)
        namespace = f"tf-{self.run_id}-{name}"
        address = str(self.subnet.network_address + 10 + index)
        host = Host(name, namespace, address, switch_port=f"h{index}")
        _ip("netns", "add", namespace)
        self.hosts[name] = host
        _ip(
            "link", "add", "name", host.switch_port, "netns", self.switch, "type", "veth",
            "peer", "name", "eth0", "netns", namespace,
        )  # fmt: skip
        _ip("-n", self.switch, "link", "set", host.switch_port, "master", "br0", "up")
        _ip("-n", namespace, "addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", "eth0")
        _ip("-n", namespace, "link", "set", "eth0", "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        return host

    def run(
        self, host: Host, argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path
    ) -> subprocess.Popen[bytes]:
        """Start `argv` on `host`; `ip netns exec` execs it, so the pid is the program's."""
        with log.open("ab") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", host.namespace, *argv],
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def cut_off(self, host: Host) -> None:
        """Unplug the host: its packets go nowhere, no connection is reset."""
        _ip("-n", self.switch, "link", "set", host.switch_port, "down")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait()
        # Deleting a namespace deletes the veth ends in it, and so their peers.
        for host in self.hosts.values():
            _ip("netns", "delete", host.namespace, check=False)
        _ip("link", "delete", self.client_link, check=False)
        _ip("netns", "delete", self.switch, check=False)


@contextmanager
def private_network() -> Iterator[PrivateNetwork]:
    """A switch and the test process on it; add hosts with `add_host`."""
    if shutil.which("ip") is None:
        raise NetnsUnavailable("the `ip` command (iproute2) is not installed")
    run_id = uuid.uuid4().hex[:6]
    switch = f"tf-{run_id}-switch"
    created = subprocess.run(["ip", "netns", "add", switch], capture_output=True, text=True)
    if created.returncode != 0:
        raise NetnsUnavailable(f"`ip netns add` failed: {created.stderr.strip()}")
    subnet = _unused_subnet()
    network = PrivateNetwork(
        run_id, subnet, switch,
        client_link=f"tf{run_id}c", client_address=str(subnet.network_address + 1),
    )  # fmt: skip
    try:
        _ip("-n", switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", switch, "link", "set", "br0", "up")
        _ip(
            "link", "add", "name", network.client_link, "type", "veth",
            "peer", "name", "client", "netns", switch,
        )  # fmt: skip
        _ip("-n", switch, "link", "set", "client", "master", "br0", "up")
        _ip("addr", "add", f"{network.client_address}/{PREFIX_LENGTH}", "dev", network.client_link)
        _ip("link", "set", network.client_link, "up")
        yield network
    finally:
        network.close()


def _unused_subnet() -> ipaddress.IPv4Network:
    """A 10.x.y.0/24 that no route or address of this machine touches."""
    routes = subprocess.run(
        ["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True, check=True
    ).stdout
    taken = [
        ipaddress.ip_network(word, strict=False)
        for line in routes.splitlines()
        for word in line.split()
        if word[0].isdigit() and "." in word
    ]
    while True:
        candidate = ipaddress.IPv4Network(
            f"10.{random.randint(100, 250)}.{random.randint(0, 255)}.0/{PREFIX_LENGTH}"
        )
        if not any(candidate.overlaps(net) for net in taken):
            return candidate


def _ip(*args: str, check: bool = True) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
