"""Packing a command: redis-py's asyncio packer against the services' connections
(taskflow/redis_connection.py, hiredis), for a GET, a small FCALL and a remote
session's FCALL with 50 completions and the next claim.

    uv run --frozen python -m bench.redis_pack
"""

from __future__ import annotations

import os
import time
import timeit
from typing import Any

from redis.asyncio.connection import Connection

from taskflow.redis_connection import TcpConnection

TASK_ID = "0e722323-d69d-41aa-8f9e-81cda03a31c9"
COMMANDS: dict[str, tuple[Any, ...]] = {
    "GET": ("GET", f"task:{TASK_ID}"),
    "FCALL, a claim": ("FCALL", "claim", 1, "{tf}", "w", 50, "q", 1, "t"),
    "FCALL, 50 completions and a claim": (
        "FCALL", "complete_and_claim", 1, "{tf}", 50,
        *[x for i in range(50) for x in (f"{TASK_ID[:-4]}{i:04d}", f"tok{i:020d}", "ok")],
        "w", 50, "q", 1, "t",
    ),
}  # fmt: skip
N = 20_000


def main() -> None:
    print(f"load average before {os.getloadavg()[0]:.2f}; CPU time, best of 3 x {N:,} packs")
    for name, command in COMMANDS.items():
        per = [best(connection, command) for connection in (Connection(), TcpConnection())]
        print(f"  {name}: redis-py {per[0] * 1e6:.2f} µs, ours {per[1] * 1e6:.2f} µs")


def best(connection: Connection, command: tuple[Any, ...]) -> float:
    """CPU seconds per pack (process time: other processes' load moves it less than
    wall time), the best of three runs."""
    runs = timeit.repeat(
        lambda: connection.pack_command(*command), number=N, repeat=3, timer=time.process_time
    )
    return min(runs) / N


if __name__ == "__main__":
    main()
