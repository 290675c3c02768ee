"""Many SSE clients in one process, for bench/gateway.py's fan-out measurement.

    python -m bench.sse_listeners URL CLIENTS OUT

Opens CLIENTS streams on URL (plain HTTP/1.1 over asyncio streams: an HTTP client
library would cost more CPU than the gateway under test), prints `ready` once every
stream has delivered its first event, and records when each stream received each
`task_created` event (CLOCK_MONOTONIC, which every process on the machine shares).
On SIGTERM it writes {task_id: [receipt times]} to OUT as JSON and exits.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CREATED = b'"type":"task_created","task_id":"'
CONNECT_TIMEOUT_S = 30.0


async def listen(
    host: str,
    port: int,
    path: str,
    started: asyncio.Event,
    receipts: dict[str, list[float]],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream refused: {status!r}")
    # Chunked transfer: each event is one chunk, so its `data:` line arrives whole;
    # the chunk-size lines around it are skipped like any other line.
    async for line in reader:
        if not line.startswith(b"data: "):
            continue
        started.set()
        at = line.find(CREATED)
        if at >= 0:
            begin = at + len(CREATED)
            task_id = line[begin : line.index(b'"', begin)].decode()
            receipts[task_id].append(time.monotonic())


async def listen_all(url: str, clients: int) -> dict[str, object]:
    """Listen until SIGTERM; what was received, and how many streams ended early."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    receipts: dict[str, list[float]] = defaultdict(list)
    started = [asyncio.Event() for _ in range(clients)]
    streams = [asyncio.create_task(listen(host, port, path, event, receipts)) for event in started]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    everyone: asyncio.Future[Any] = asyncio.ensure_future(
        asyncio.gather(*(event.wait() for event in started))
    )
    done, _ = await asyncio.wait(
        [everyone, *streams], timeout=CONNECT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
    )
    if everyone not in done:
        for stream in done:
            stream.result()  # a stream that ended before its first event says why
        raise TimeoutError(f"not every stream started within {CONNECT_TIMEOUT_S} s")
    print("ready", flush=True)
    await stop.wait()
    failed = [stream for stream in streams if stream.done()]
    for stream in streams:
        stream.cancel()
    return {"receipts": receipts, "streams_ended": len(failed)}


if __name__ == "__main__":
    figures = asyncio.run(listen_all(sys.argv[1], int(sys.argv[2])))
    Path(sys.argv[3]).write_text(json.dumps(figures))
