"""The events stream: every event of the channel, kept in a bounded Redis Stream.

The scripts append each event (the same JSON as published) in the same step as
the change (lua/_prelude.lua, `finish`), trimmed to about EVENTS_MAXLEN entries.
An event's stream id orders it and is the point a watch resumes after:

    start = await latest_id(client, keys)          # resume point of a snapshot
    if await retained_after(client, keys, resume):  # nothing trimmed since
        async for event in replay(client, keys, resume): ...
    events, last = await tail(client, keys, last, block_ms=5000)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from taskflow.errors import InvalidInput
from taskflow.store.events import QueueEvent, parse_event
from taskflow.store.keys import Keys

EVENTS_MAXLEN = 100_000  # mirrors lua/_prelude.lua
FIELD = b"e"
REPLAY_PAGE = 500
# Before the first event: resuming here means "from the stream's start".
ORIGIN = "0-0"

StreamId = tuple[int, int]


def parse_id(event_id: str) -> StreamId:
    """An event id ("<ms>-<seq>") as a comparable pair; InvalidInput if it is not one."""
    ms, sep, seq = event_id.partition("-")
    try:
        parsed = (int(ms), int(seq) if sep else 0)
    except ValueError:
        raise InvalidInput(f"not an event id: {event_id[:40]!r}") from None
    if parsed[0] < 0 or parsed[1] < 0:
        raise InvalidInput(f"not an event id: {event_id[:40]!r}")
    return parsed


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _events(entries: Sequence[Any]) -> tuple[list[QueueEvent], str | None]:
    """Known events of XRANGE/XREAD entries, and the last entry's id (None if none)."""
    events: list[QueueEvent] = []
    last: str | None = None
    for raw_id, fields in entries:
        last = _text(raw_id)
        body = fields.get(FIELD) or fields.get("e")
        if body is not None and (event := parse_event(body, last)) is not None:
            events.append(event)
    return events, last


async def latest_id(client: Redis, keys: Keys) -> str:
    """Id of the newest event kept (ORIGIN when the stream is empty)."""
    entries: Any = await client.xrevrange(keys.events, count=1)
    return _text(entries[0][0]) if entries else ORIGIN


async def retained_after(client: Redis, keys: Keys, event_id: str) -> bool:
    """True when every event after `event_id` is still kept (none trimmed away).

    Nothing was ever trimmed when the stream holds every entry added to it;
    otherwise its oldest entry tells: if it is newer than `event_id`, entries
    between may be gone (or `event_id` itself was the one trimmed last: a fresh
    snapshot then is harmless). A stream that does not exist (a reset) keeps
    nothing after any real id.
    """
    after = parse_id(event_id)
    try:
        info: Any = await client.xinfo_stream(keys.events)
    except ResponseError:  # no such key
        return after == (0, 0)
    if int(info["entries-added"]) == int(info["length"]):
        return True
    first = info.get("first-entry")
    return first is not None and parse_id(_text(first[0])) <= after


async def replay(client: Redis, keys: Keys, after_id: str) -> AsyncIterator[QueueEvent]:
    """The kept events after `after_id`, oldest first, up to the newest at each page."""
    cursor = f"({after_id}"
    while True:
        entries: Any = await client.xrange(keys.events, min=cursor, count=REPLAY_PAGE)
        events, last = _events(entries)
        for event in events:
            yield event
        if last is None or len(entries) < REPLAY_PAGE:
            return
        cursor = f"({last}"


async def tail(
    client: Redis, keys: Keys, after_id: str, *, block_ms: int, count: int = REPLAY_PAGE
) -> tuple[list[QueueEvent], str]:
    """The events after `after_id`, waiting up to `block_ms` for one; and the id to
    read after next (unchanged when nothing came)."""
    reply: Any = await client.xread({keys.events: after_id}, count=count, block=block_ms)
    if not reply:
        return [], after_id
    # RESP2: [[key, entries]]; RESP3: {key: [entries]}
    entries = next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
    events, last = _events(entries)
    return events, last or after_id
