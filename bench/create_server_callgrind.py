"""Instructions per sequential CreateTask in the whole scheduler process (its gRPC
server included) and in the client process, under callgrind: figures the machine's
load does not move (issue 19, the sequential create).

    uv run --frozen python -m bench.create_server_callgrind [--calls 300] [--against REF]

Server side: `python -m services.scheduler` (default settings) runs under
`valgrind --tool=callgrind --instr-atstart=no` on a fresh bundled valkey (not under
valgrind); a sync grpc client in this process sends warm-up creates, switches
counting on (callgrind_control -i on), sends `--calls` CreateTask one after another,
and switches it off. Every thread of the scheduler is counted: grpc's own (the aio
poller, the sync server's pool), the event loop, the blocking path. Client side:
this module with --client runs under callgrind and sends the creates through a
grpc.aio stub, then through a sync stub (one valgrind run each), against a scheduler
of this checkout not under valgrind. `--against REF`: the server side for REF's tree
first (bench.transition_cost.archived).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from grpc import aio

from bench.create_callgrind import collecting, counted_ir
from bench.transition_cost import HERE, archived
from taskflow.redis_server import free_port
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc as pb_grpc

WARM_UP = 50
REQUEST = pb.CreateTaskRequest(task_type="noop", content="x")
START_S = 600.0  # an interpreter under valgrind imports slowly


def switch(pid: int, on: bool) -> None:
    argument = "on" if on else "off"
    subprocess.run(["callgrind_control", "-i", argument, str(pid)], check=True, capture_output=True)


def ready(address: str) -> grpc.Channel:
    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=START_S)
    deadline = time.monotonic() + START_S
    stub = pb_grpc.SchedulerServiceStub(channel)
    while True:
        try:
            stub.CreateTask(REQUEST, timeout=60)
            return channel
        except grpc.RpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def scheduler_env(tree: Path, url: str, address: str) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=str(tree),
        REDIS_URL=url,
        TASKFLOW_SCHEDULER_ADDRESS=address,
        LOG_LEVEL="WARNING",
    )


def server_side(tree: Path, url: str, calls: int) -> float:
    address = f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        process = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={out}", sys.executable, "-m", "services.scheduler"],
            cwd=tree, env=scheduler_env(tree, url, address),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            with ready(address) as channel:
                create = pb_grpc.SchedulerServiceStub(channel).CreateTask
                for _ in range(WARM_UP):
                    create(REQUEST)
                switch(process.pid, True)
                for _ in range(calls):
                    create(REQUEST)
                switch(process.pid, False)
        finally:
            process.terminate()
            process.wait(120)
        return sum(counted_ir(dump) for dump in Path(tmp).glob("callgrind.out*")) / calls


def client_side(url: str, kind: str, calls: int) -> float:
    address = f"127.0.0.1:{free_port()}"
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "services.scheduler"],
        cwd=HERE,
        env=scheduler_env(HERE, url, address),
    )
    try:
        ready(address).close()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "callgrind.out"
            subprocess.run(
                ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                 f"--callgrind-out-file={out}", sys.executable, "-m",
                 "bench.create_server_callgrind", "--client", kind, address, str(calls)],
                cwd=HERE, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            return sum(counted_ir(dump) for dump in Path(tmp).glob("callgrind.out*")) / calls
    finally:
        scheduler.terminate()
        scheduler.wait(60)


async def aio_client(address: str, calls: int) -> None:
    async with aio.insecure_channel(address) as channel:
        create = pb_grpc.SchedulerServiceStub(channel).CreateTask
        for _ in range(WARM_UP):
            await create(REQUEST)
        collecting(True)
        for _ in range(calls):
            await create(REQUEST)
        collecting(False)


def sync_client(address: str, calls: int) -> None:
    with grpc.insecure_channel(address) as channel:
        create = pb_grpc.SchedulerServiceStub(channel).CreateTask
        for _ in range(WARM_UP):
            create(REQUEST)
        collecting(True)
        for _ in range(calls):
            create(REQUEST)
        collecting(False)


def main(options: argparse.Namespace) -> None:
    from bench.common import bundled_server, host

    print(host(), flush=True)
    with bundled_server() as valkey, tempfile.TemporaryDirectory() as tmp:
        trees = [("this checkout", HERE)]
        if options.against:
            trees.insert(0, (options.against, archived(options.against, Path(tmp))))
        for label, tree in trees:
            ir = server_side(tree, valkey.url, options.calls)
            print(f"  scheduler process, {label}: {ir:,.0f} Ir per CreateTask", flush=True)
        for kind in ("aio", "sync"):
            ir = client_side(valkey.url, kind, options.calls)
            print(f"  client process, {kind} stub: {ir:,.0f} Ir per CreateTask", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--against", default="")
    parser.add_argument("--client", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.client:
        kind, address, calls = options.client
        if kind == "aio":
            asyncio.run(aio_client(address, int(calls)))
        else:
            sync_client(address, int(calls))
    else:
        main(options)
