"""Where a sequential CreateTask's scheduler time goes, every thread counted: py-spy
samples of the scheduler process (its gRPC threads, the event loop, the blocking
path) while one sync client sends creates one after another; printed as a text
table (docs/profiles/create-unary-sequential-threads-*.txt come from here).

    uv run --frozen python -m bench.profile_create_threads [--seconds 20] [--against REF]

The scheduler is `python -m services.scheduler` at default settings on a fresh
bundled valkey (with `--against REF`, REF's tree's scheduler first, then this
checkout's). py-spy (from the benchmark's environment, bench.foreign.bench_env)
records only samples of threads that are running (no --idle): a thread waiting in
epoll, a lock or a socket read is not counted, so the shares are of the CPU the
process spent in Python and the C it calls.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import grpc

from bench import foreign
from bench.create_server_callgrind import REQUEST, ready, scheduler_env
from bench.pyspy import read_stacks
from bench.transition_cost import HERE, archived
from taskflow.redis_server import free_port
from taskflow.v1 import scheduler_service_pb2_grpc as pb_grpc

RATE_HZ = 500
TOP = 25
# Frames every stack of a kind passes through: their inclusive share says nothing.
PLUMBING = ("<module> (", "_run_module_as_main (", "_run_code (", "run (", "_bootstrap (",
            "_bootstrap_inner (", "_worker (concurrent", "run_forever (", "_run_once (",
            "Handle._run (", "run_until_complete (", "Runner.run (")  # fmt: skip


def sending(address: str, stop: threading.Event, counted: list[int]) -> None:
    with grpc.insecure_channel(address) as channel:
        create = pb_grpc.SchedulerServiceStub(channel).CreateTask
        while not stop.is_set():
            create(REQUEST)
            counted[0] += 1


def profile(tree: Path, url: str, seconds: float, out: Path) -> str:
    address = f"127.0.0.1:{free_port()}"
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "services.scheduler"],
        cwd=tree,
        env=scheduler_env(tree, url, address),
    )
    try:
        ready(address).close()
        stop, counted = threading.Event(), [0]
        client = threading.Thread(target=sending, args=(address, stop, counted))
        client.start()
        time.sleep(2)  # warm
        spy = subprocess.Popen(
            [str(foreign.bench_env() / "py-spy"), "record", "--pid", str(scheduler.pid),
             "--rate", str(RATE_HZ), "--nonblocking", "--format", "raw", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        start = counted[0]
        time.sleep(seconds)
        spy.send_signal(signal.SIGINT)
        spy.wait(60)
        calls = counted[0] - start
        stop.set()
        client.join()
    finally:
        scheduler.terminate()
        scheduler.wait(60)
    return f"{calls:,} CreateTask in {seconds:g} s under py-spy ({calls / seconds:,.0f}/s)"


def table(path: Path) -> list[str]:
    stacks = read_stacks(path.read_text().splitlines())
    total = sum(stacks.values())
    if not total:
        return ["py-spy recorded no samples"]
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, n in stacks.items():
        own[stack[-1]] += n
        for frame in set(stack):
            if not frame.startswith(PLUMBING):
                inclusive[frame] += n
    lines = [f"{total:,} samples of running threads at {RATE_HZ} Hz", "  own time (leaf frame):"]
    lines += [f"    {n / total:>5.1%}  {frame}" for frame, n in own.most_common(TOP)]
    lines.append("  inclusive time:")
    lines += [f"    {n / total:>5.1%}  {frame}" for frame, n in inclusive.most_common(TOP)]
    return lines


def main(options: argparse.Namespace) -> None:
    from bench.common import bundled_server, host

    print(host(), flush=True)
    with bundled_server() as valkey, tempfile.TemporaryDirectory() as tmp:
        trees = [("this checkout", HERE)]
        if options.against:
            trees.insert(0, (options.against, archived(options.against, Path(tmp))))
        for label, tree in trees:
            out = Path(tmp) / f"{label.replace(' ', '_')}.txt"
            rate = profile(tree, valkey.url, options.seconds, out)
            print(f"== {label}: {rate}, load {os.getloadavg()[0]:.2f}", flush=True)
            print("\n".join(table(out)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--against", default="")
    main(parser.parse_args())
