"""Reading a streamed chat completion (`"stream": true`): server-sent events, each
`data: {json}` holding `choices[0].delta.content`, ended by `data: [DONE]`.
Comment lines (`: ...`, e.g. OpenRouter's keep-alives) and events without text are
skipped. A provider that ignores the flag answers plain JSON: the caller reads it
as an ordinary completion.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

from taskflow.tasks.errors import NetworkTimeout

Partial = Callable[[str], None]
DONE = "[DONE]"


async def read_stream(lines: AsyncIterator[str], on_partial: Partial) -> str:
    """The whole reply text; `on_partial` gets the text so far after each piece."""
    parts: list[str] = []
    async for line in lines:
        if not line.startswith("data:"):
            continue
        data = line.removeprefix("data:").strip()
        if data == DONE:
            break
        piece = _piece(data)
        if piece:
            parts.append(piece)
            on_partial("".join(parts))
    text = "".join(parts)
    if not text.strip():
        raise NetworkTimeout("provider stream is empty")
    return text


def _piece(data: str) -> str:
    try:
        event = json.loads(data)
    except ValueError:
        raise NetworkTimeout("provider stream sent an event that is not JSON") from None
    if not isinstance(event, dict):
        return ""
    if isinstance(event.get("error"), dict):
        raise NetworkTimeout(f"provider reported an error: {event['error'].get('message', '')}")
    try:
        content = event["choices"][0]["delta"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    return content if isinstance(content, str) else ""
