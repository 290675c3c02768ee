"""The events stream: every event of the channel, kept in a bounded Redis Stream.

The scripts append the events of each call (the same JSON as published) in the
same step as the change (lua/_prelude.lua, `finish`), as one entry: field `h` a
JSON array of each event's own fields, field `t` the fields they share (depths,
counts, timestamp), kept about EVENTS_MAXLEN events. An entry of one event holds
its whole JSON in field `e` (a call with one event, entries written before
batching, progress.lua and log_append.lua).

An event's id orders it and is the point a watch resumes after. The last event of
an entry has the entry's id ("<ms>-<seq>", as every event had before batching);
the earlier ones have it plus their index ("<ms>-<seq>-<i>"). Resuming after an
entry's id therefore skips the whole entry, after "<ms>-<seq>-<i>" the rest of it:

    start = await latest_id(client, keys)          # resume point of a snapshot
    if await retained_after(client, keys, resume):  # nothing trimmed since
        async for event in replay(client, keys, resume): ...
    events, last = await tail(client, keys, last, block_ms=5000)
    caught_up = await catch_up(client, keys, last)  # None: start afresh
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from taskflow.errors import InvalidInput
from taskflow.store.events import QueueEvent, event_from, parse_event
from taskflow.store.keys import Keys

log = logging.getLogger(__name__)
EVENTS_MAXLEN = 100_000  # mirrors lua/_prelude.lua
EVENT, HEADS, TAIL = "e", "h", "t"  # an entry's fields (above)
# Entries per XRANGE/XREAD: one holds up to a whole batch of events (500 or more).
REPLAY_PAGE = 100
# Before the first event: resuming here means "from the stream's start".
ORIGIN = "0-0"
# The index of an entry's id itself: after every event of the entry.
END = 2**64
MAX_SEQ = 2**64 - 1

# (ms, seq, index in the entry); an entry's own id has index END.
StreamId = tuple[int, int, int]
BEFORE_ANY: StreamId = (0, 0, 0)


def parse_id(event_id: str) -> StreamId:
    """An event id ("<ms>-<seq>" or "<ms>-<seq>-<i>") as a comparable triple;
    InvalidInput if it is not one."""
    parts = event_id.split("-")
    try:
        if len(parts) > 3:
            raise ValueError
        ms = int(parts[0])
        seq = int(parts[1]) if len(parts) > 1 else 0
        index = int(parts[2]) if len(parts) > 2 else END
    except ValueError:
        raise InvalidInput(f"not an event id: {event_id[:40]!r}") from None
    if min(ms, seq, index) < 0 or seq > MAX_SEQ or index > END:
        raise InvalidInput(f"not an event id: {event_id[:40]!r}")
    return ms, seq, index


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _field(fields: Mapping[Any, Any], name: str) -> Any:
    value = fields.get(name.encode())
    return fields.get(name) if value is None else value


def entry_events(entry_id: str, fields: Mapping[Any, Any]) -> list[QueueEvent]:
    """The known events of one stream entry, in order, each with its id."""
    whole = _field(fields, EVENT)
    if whole is not None:
        event = parse_event(whole, entry_id)
        return [event] if event is not None else []
    try:
        heads = json.loads(_field(fields, HEADS))
        tail = json.loads(_field(fields, TAIL))
        if not isinstance(heads, list) or not isinstance(tail, dict):
            raise TypeError
    except (ValueError, TypeError):
        log.warning("event=malformed_entry id=%s", entry_id)
        return []
    last = len(heads) - 1
    events = []
    for i, head in enumerate(heads):
        if not isinstance(head, dict):
            log.warning("event=malformed_event id=%s-%d", entry_id, i)
            continue
        event = event_from(head | tail, entry_id if i == last else f"{entry_id}-{i}")
        if event is not None:
            events.append(event)
    return events


def _events(
    entries: Sequence[Any], after: StreamId = BEFORE_ANY
) -> tuple[list[QueueEvent], str | None]:
    """Known events of XRANGE/XREAD entries after `after`, and the last entry's id
    (None if none)."""
    events: list[QueueEvent] = []
    last: str | None = None
    partly_read = _entry(after)  # only this entry may hold events up to `after`
    for raw_id, fields in entries:
        last = _text(raw_id)
        got = entry_events(last, fields)
        if last == partly_read:
            got = [event for event in got if parse_id(event.event_id) > after]
        events.extend(got)
    return events, last


def _entry(event_id: StreamId) -> str:
    return f"{event_id[0]}-{event_id[1]}"


def _before_entry(event_id: StreamId) -> str:
    """The id just before the entry holding `event_id` (XREAD reads after an id)."""
    ms, seq, _ = event_id
    if seq:
        return f"{ms}-{seq - 1}"
    return f"{ms - 1}-{MAX_SEQ}" if ms else ORIGIN


async def latest_id(client: Redis, keys: Keys) -> str:
    """Id of the newest event kept (ORIGIN when the stream is empty)."""
    entries: Any = await client.xrevrange(keys.events, count=1)
    return _text(entries[0][0]) if entries else ORIGIN


async def retained_after(client: Redis, keys: Keys, event_id: str) -> bool:
    """True when every event after `event_id` is still kept (none trimmed away).

    Nothing was ever trimmed when the stream holds every entry added to it;
    otherwise its oldest entry tells: if it is newer than the entry of `event_id`,
    entries between may be gone (or that entry itself was the one trimmed last: a
    fresh snapshot then is harmless). A stream that does not exist (a reset) keeps
    nothing after any real id.
    """
    after = parse_id(event_id)
    try:
        info: Any = await client.xinfo_stream(keys.events)
    except ResponseError:  # no such key
        return after[:2] == (0, 0)
    return _kept_after(info, after)


def _kept_after(info: Any, after: StreamId) -> bool:
    """retained_after's answer from the stream's XINFO STREAM."""
    if int(info["entries-added"]) == int(info["length"]):
        return True
    first = info.get("first-entry")
    return first is not None and parse_id(_text(first[0]))[:2] <= after[:2]


async def replay(client: Redis, keys: Keys, after_id: str) -> AsyncIterator[QueueEvent]:
    """The kept events after `after_id`, oldest first, up to the newest at each page."""
    after = parse_id(after_id)
    # From the entry of a mid-entry id on (its rest is due), else after it.
    cursor = _entry(after) if after[2] != END else f"({_entry(after)}"
    while True:
        entries: Any = await client.xrange(keys.events, min=cursor, count=REPLAY_PAGE)
        events, last = _events(entries, after)
        for event in events:
            yield event
        if last is None or len(entries) < REPLAY_PAGE:
            return
        cursor = f"({last}"


async def tail(
    client: Redis, keys: Keys, after_id: str, *, block_ms: int, count: int = REPLAY_PAGE
) -> tuple[list[QueueEvent], str]:
    """The events after `after_id`, waiting up to `block_ms` for one; and the id to
    read after next (unchanged when nothing came). `count` bounds the entries read."""
    after = parse_id(after_id)
    reply: Any = await client.xread({keys.events: _read_start(after)}, count=count, block=block_ms)
    events, last = _events(_read_entries(reply), after)
    return events, last or after_id


async def catch_up(
    client: Redis, keys: Keys, after_id: str, *, count: int = REPLAY_PAGE
) -> tuple[list[QueueEvent], str] | None:
    """The events kept after `after_id`, without waiting, and the id to read after
    next, in one round trip; None when some may be out of reach: trimmed away, or
    more than `count` entries came since (a reader that far behind starts afresh)."""
    after = parse_id(after_id)
    async with client.pipeline(transaction=False) as pipe:
        pipe.xinfo_stream(keys.events)
        pipe.xread({keys.events: _read_start(after)}, count=count)
        info, reply = await pipe.execute(raise_on_error=False)
    if isinstance(reply, Exception):
        raise reply
    if isinstance(info, ResponseError):  # no such key
        kept = after[:2] == (0, 0)
    elif isinstance(info, Exception):
        raise info
    else:
        kept = _kept_after(info, after)
    entries = _read_entries(reply)
    if not kept or len(entries) >= count:
        return None
    events, last = _events(entries, after)
    return events, last or after_id


def _read_start(after: StreamId) -> str:
    """The id XREAD reads after, for the events after `after`."""
    return _entry(after) if after[2] == END else _before_entry(after)


def _read_entries(reply: Any) -> Sequence[Any]:
    """The entries of an XREAD reply of the one stream (none when it timed out)."""
    if not reply:
        return []
    # RESP2: [[key, entries]]; RESP3: {key: [entries]}
    entries: Sequence[Any] = (
        next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
    )
    return entries
