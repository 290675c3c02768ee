"""Server CPU per unary call: a grpc.aio server against a sync grpc server (a thread
pool), each serving CreateTask with a do-nothing handler and with one EVALSHA (of
`return 1`, through redis.asyncio and sync redis-py) per call (issue 19, the
sequential create).

    uv run --frozen python -m bench.grpc_servers [--rounds 2] [--calls 5000]

Each server runs as its own process (this module with --serve) on a fresh port,
with the bundled valkey beside it; this process is a sync grpc client sending the
calls one after another. Rounds alternate the order. Printed: calls per second,
and the server process's CPU (user + system, /proc/<pid>/stat) per call, the figure
a loaded machine hardly moves. No taskflow code runs in the servers: this bounds
what a change of server kind could save, not what the scheduler would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from concurrent import futures
from typing import Any

import grpc
import redis
from grpc import aio
from redis.asyncio import Redis

from bench.common import bundled_server, host
from bench.lifecycle import process_cpu_s
from taskflow.redis_server import free_port
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc as pb_grpc

KINDS = ("aio", "sync", "aio+evalsha", "sync+evalsha")
LUA = "return 1"
WARM_UP = 300
SERVICE = pb.DESCRIPTOR.services_by_name["SchedulerService"].full_name
REPLY = pb.CreateTaskResponse(task_id="0" * 36, created=True)


def create_task_handler(behaviour: Any) -> grpc.GenericRpcHandler[Any, Any]:
    """SchedulerService with CreateTask alone, served by `behaviour`."""
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "CreateTask": grpc.unary_unary_rpc_method_handler(
                behaviour,
                request_deserializer=pb.CreateTaskRequest.FromString,
                response_serializer=pb.CreateTaskResponse.SerializeToString,
            )
        },
    )


def serve_sync(port: int, url: str, evalsha: bool) -> None:
    client = redis.Redis.from_url(url)
    sha = client.script_load(LUA)

    def create(request: Any, context: Any) -> Any:
        if evalsha:
            client.evalsha(sha, 1, "k", "a")
        return REPLY

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((create_task_handler(create),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


async def serve_aio(port: int, url: str, evalsha: bool) -> None:
    client = Redis.from_url(url)
    sha = await client.script_load(LUA)

    async def create(request: Any, context: Any) -> Any:
        if evalsha:
            await client.evalsha(sha, 1, "k", "a")
        return REPLY

    server = aio.server()
    server.add_generic_rpc_handlers((create_task_handler(create),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def measure(kind: str, url: str, calls: int) -> str:
    port = free_port()
    args = [sys.executable, "-m", "bench.grpc_servers", "--serve", kind, str(port), url]
    server = subprocess.Popen(args)
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=60)
        create = pb_grpc.SchedulerServiceStub(channel).CreateTask
        request = pb.CreateTaskRequest(task_type="noop", content="x")
        for _ in range(WARM_UP):
            create(request)
        cpu, start = process_cpu_s(server.pid), time.perf_counter()
        for _ in range(calls):
            create(request)
        seconds = time.perf_counter() - start
        used = process_cpu_s(server.pid) - cpu
        channel.close()
    finally:
        server.terminate()
        server.wait(30)
    return (
        f"{kind:<13} {calls / seconds:>7,.0f} calls/s   server {used / calls * 1e6:>4.0f} µs/call"
    )


def main(options: argparse.Namespace) -> None:
    print(host())
    with bundled_server() as valkey:
        for index in range(options.rounds):
            for kind in KINDS if index % 2 == 0 else KINDS[::-1]:
                print(measure(kind, valkey.url, options.calls), flush=True)
    print(f"load average after the run {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        kind, port, url = options.serve
        if kind.startswith("sync"):
            serve_sync(int(port), url, kind.endswith("evalsha"))
        else:
            asyncio.run(serve_aio(int(port), url, kind.endswith("evalsha")))
    else:
        main(options)
