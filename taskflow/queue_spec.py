"""The queues a worker consumes, written `name[:weight],...` (TASKFLOW_QUEUES and
`taskflow executor --queues`): e.g. "default:3,emails:1" gives `default` three
claims in four. A weight left out is 1."""

from __future__ import annotations

import re

QUEUE_NAME = re.compile(r"[a-z0-9_-]{1,64}")
QueueWeights = tuple[tuple[str, int], ...]


def parse_queues(text: str) -> QueueWeights:
    """`name[:weight]` items, comma-separated; ValueError says what is wrong."""
    found: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, weight = item.partition(":")
        if not QUEUE_NAME.fullmatch(name):
            raise ValueError(f"queue {name!r} must match [a-z0-9_-]{{1,64}}")
        if weight and not (weight.isdigit() and 1 <= int(weight) <= 1000):
            raise ValueError(f"queue {name!r}: weight {weight!r} must be 1..1000")
        if name in found:
            raise ValueError(f"queue {name!r} is named twice")
        found[name] = int(weight) if weight else 1
    if not found:
        raise ValueError("name at least one queue")
    return tuple(found.items())
