"""Reading server-sent events from an open httpx streaming response."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx


class EventStream:
    """Reads `data:` events of an open SSE response."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()
        self.last_id = ""  # the `id:` of the last event read ("" before any)

    async def next(self) -> dict[str, Any]:
        """The next event with data; its `id:` (before or after the data) in last_id."""
        event: dict[str, Any] | None = None
        async with asyncio.timeout(60):  # a loaded machine; a passing read never waits it out
            while True:
                line = await anext(self.lines)
                if line.startswith("id: "):
                    self.last_id = line.removeprefix("id: ")
                elif line.startswith("data: "):
                    event = json.loads(line.removeprefix("data: "))
                elif not line and event is not None:
                    return event

    async def next_of(self, kind: str) -> dict[str, Any]:
        while (event := await self.next())["type"] != kind:
            pass
        return event
