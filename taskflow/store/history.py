"""A task's state_history as stored: a JSON list, then a compact log of later moves.

Creation writes `state_history`, the JSON list of {state, timestamp} the original
clients know. A transition does not rewrite that list (the append-only file would
carry the whole history every time): it adds one entry to `state_log`, a state
letter and the microseconds since `created_us` (`A3329C1204729`: ACTIVE 3.329 ms
after creation, COMPLETED 1.204729 s after). An entry with a reason (a task held
back) folds the log into the JSON list again (lua/_prelude.lua, move_state). The
whole history is the list followed by the log; hashes written before the log
existed have none.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

STATE_OF_LETTER = {
    "P": "PENDING",
    "A": "ACTIVE",
    "C": "COMPLETED",
    "F": "FAILED",
    "S": "SCHEDULED",
    "D": "DLQ",
    "X": "CANCELLED",
}
_LOG = re.compile(r"(?:[PACFSDX]-?\d+)*")
_ENTRY = re.compile(r"([PACFSDX])(-?\d+)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def logged_states(log: str, created_us: str) -> list[dict[str, Any]]:
    """The entries of a `state_log`, shaped as the JSON list's: the timestamp as
    the scripts write it (ISO 8601 with microseconds and +00:00)."""
    if not log:
        return []
    if not _LOG.fullmatch(log):
        raise ValueError("state_log is malformed")
    base = int(created_us)
    return [
        {
            "state": STATE_OF_LETTER[letter],
            "timestamp": (_EPOCH + timedelta(microseconds=base + int(offset))).isoformat(
                timespec="microseconds"
            ),
        }
        for letter, offset in _ENTRY.findall(log)
    ]
