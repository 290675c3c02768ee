"""Server cost of the task transitions: Redis CPU, commands and AOF bytes per task.

    uv run python -m bench.transition_cost [--tasks 20000] [--batch 200] [--rounds 3]
        [--subscribers N] [--against REF]

Creates, claims and completes `--tasks` tasks in batches on the bundled server
(one script call per batch and transition), then creates as many again and drains
them as an executor's lane does (`drain`: TaskStore.complete_and_claim per batch,
claim + complete per task), and reports, per transition, the
server's microseconds per script call and per task (EVALSHA `usec`: the script's
run on the server, not the network or the client; on a shared machine it varies
with load, so take the best round), the server's main-thread CPU per task (INFO
cpu), the Redis commands the scripts ran per task and the append-only file's
growth per task (both exact, whatever the load), the µs per task of the event
commands (XADD, PUBLISH) alone, and the events stream's memory per event.
`--subscribers N` keeps N clients subscribed to `queue-updates` meanwhile (each
reads and drops what it is sent).
`--against REF` compares with the scripts of git ref REF in the same run: each
round runs REF's tree (a `git archive`, with this checkout's bench/) and then this
checkout, as separate processes on servers of their own, the first alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

import taskflow.store as store_package
from bench.common import bundled_server, machine, server_cpu_s
from taskflow.store import NewTask, TaskStore

# Script calls themselves (FCALL, or EVALSHA on a server without functions).
CALLS = ("cmdstat_fcall", "cmdstat_evalsha")
OUTSIDE_SCRIPTS: tuple[str, ...] = (*CALLS, "cmdstat_function|load", "cmdstat_info")
OUTSIDE_SCRIPTS += ("cmdstat_script", "cmdstat_time")
EVENT_COMMANDS = ("cmdstat_xadd", "cmdstat_publish")
HERE = Path(__file__).resolve().parent.parent


async def counters(client: Redis) -> dict[str, float]:
    """EVALSHA calls and µs, commands run inside scripts, the event commands' µs,
    the AOF's size and the server's CPU seconds."""
    stats: dict[str, Any] = await client.info("commandstats")
    entry = {
        field: sum(int(stats.get(name, {field: 0})[field]) for name in CALLS)
        for field in ("calls", "usec")
    }
    inner = sum(int(value["calls"]) for name, value in stats.items() if name not in OUTSIDE_SCRIPTS)
    out: dict[str, float] = {
        "calls": int(entry["calls"]),
        "usec": int(entry["usec"]),
        "inner": inner,
    }
    for name in EVENT_COMMANDS:
        out[name] = int(stats.get(name, {"usec": 0})["usec"])
    persistence: dict[str, Any] = await client.info("persistence")
    out["aof"] = int(persistence.get("aof_current_size", 0))
    out["cpu"] = await server_cpu_s(client)
    return out


async def measured(client: Redis, label: str, n: int, work: Any) -> None:
    before = await counters(client)
    await work
    after = await counters(client)
    d = {name: after[name] - before[name] for name in after}
    print(
        f"  {label:<10} {d['calls']:>6.0f} calls  {d['usec'] / max(d['calls'], 1):8.1f} µs/call"
        f"  {d['usec'] / n:6.2f} µs/task  cpu {d['cpu'] * 1e6 / n:6.2f} µs/task"
        f"  {d['inner'] / n:6.2f} commands/task  {d['aof'] / n:7.1f} AOF bytes/task"
        f"  xadd {d['cmdstat_xadd'] / n:5.2f} publish {d['cmdstat_publish'] / n:5.2f} µs/task",
        flush=True,
    )


async def warm_up(store: TaskStore) -> None:
    """One task through every call the figures use, then an empty database."""
    await store.create(NewTask("noop", "warm"))
    (claim,) = await store.claim("bench-worker", 1)
    await store.complete_and_claim([(claim, "ok")], "bench-worker", 1)
    await store.complete_many([(claim, "ok")])
    await store.client.flushall()


async def lane(store: TaskStore, n: int, batch: int) -> None:
    """Claim a batch, then complete it and claim the next in one round trip."""
    held = await store.claim("bench-worker", batch)
    done = 0
    while held:
        outcomes, claimed = await store.complete_and_claim(
            [(c, "ok") for c in held], "bench-worker", batch
        )
        assert isinstance(outcomes, list), outcomes
        assert isinstance(claimed, list), claimed
        done += len(held)
        held = claimed
    assert done == n, done


async def one_round(store: TaskStore, client: Redis, n: int, batch: int) -> None:
    async def create() -> None:
        for start in range(0, n, batch):
            await store.create_many([NewTask("noop", f"t{i}") for i in range(start, start + batch)])

    claims: list[Any] = []

    async def claim() -> None:
        while len(claims) < n:
            claims.extend(await store.claim("bench-worker", batch))

    async def complete() -> None:
        for start in range(0, n, batch):
            await store.complete_many([(c, "ok") for c in claims[start : start + batch]])

    await measured(client, "create", n, create())
    await measured(client, "claim", n, claim())
    await measured(client, "complete", n, complete())
    # As an executor's lane drains: the batch done and the next claim in one call.
    await create()
    await measured(client, "drain", n, lane(store, n, batch))
    stream: Any = await client.memory_usage(store.keys.events, samples=0)
    print(f"  events stream: {int(stream or 0) / (6 * n):.1f} bytes of memory per event")


@contextlib.contextmanager
def subscribers(port: int, channel: str, count: int) -> Iterator[None]:
    """`count` raw connections subscribed to `channel`, each reading and dropping
    everything sent to it (a thread each: no Python parsing in the way)."""
    stop = threading.Event()
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        name = channel.encode()
        sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(name), name))
        sock.recv(4096)  # the confirmation
        sock.settimeout(0.2)
        socks.append(sock)

    def drain(sock: socket.socket) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                if not sock.recv(1 << 20):
                    return

    threads = [threading.Thread(target=drain, args=(s,), daemon=True) for s in socks]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for sock in socks:
            sock.close()


async def main(n: int, batch: int, rounds: int, subscribed: int) -> None:
    with bundled_server() as server:
        scripts = Path(store_package.__file__).parent
        print(f"bundled valkey; {machine()}; {n:,} tasks, batches of {batch}; scripts {scripts}")
        client = Redis.from_url(server.url)
        store = TaskStore(client)
        # No AOF rewrite in the middle of a measurement (it shrinks the file).
        await client.config_set("auto-aof-rewrite-percentage", 0)
        with subscribers(server.port, store.keys.channel, subscribed):
            await warm_up(store)  # the scripts loaded before anything is counted
            for round_no in range(1, rounds + 1):
                await client.flushall()
                print(f"round {round_no}, {subscribed} subscriber(s)", flush=True)
                await one_round(store, client, n, batch)
        await client.aclose()


def archived(ref: str, into: Path) -> Path:
    """REF's tree with this checkout's bench/ and generated stubs."""
    tree = into / ref.replace("/", "_")
    tree.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=HERE, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    shutil.rmtree(tree / "bench")
    shutil.copytree(HERE / "bench", tree / "bench")
    stubs = HERE / "taskflow" / "v1"
    if stubs.exists():
        shutil.copytree(stubs, tree / "taskflow" / "v1", dirs_exist_ok=True)
    return tree


def against(ref: str, args: argparse.Namespace) -> None:
    """Rounds of REF and of this checkout, interleaved, each in a process of its own."""
    one = [
        sys.executable, "-m", "bench.transition_cost", "--rounds", "1",
        "--tasks", str(args.tasks), "--batch", str(args.batch),
        "--subscribers", str(args.subscribers),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        trees = [(ref, archived(ref, Path(tmp))), ("this checkout", HERE)]
        for round_no in range(1, args.rounds + 1):
            order = trees if round_no % 2 else trees[::-1]
            for label, tree in order:
                print(f"== round {round_no}: {label}", flush=True)
                subprocess.run(one, cwd=tree, check=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--subscribers", type=int, default=0)
    parser.add_argument("--against", default="")
    args = parser.parse_args()
    if args.against:
        against(args.against, args)
    else:
        asyncio.run(main(args.tasks, args.batch, args.rounds, args.subscribers))
