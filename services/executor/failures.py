"""What a failure record keeps of an exception: a message, and for an unexpected
exception (not a classified task error) its class name and the end of its traceback,
so a developer sees `KeyError` and where it came from, not just `'name'`."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from taskflow.tasks.errors import TaskError

# A traceback is kept to its last this many characters (the frames nearest the raise).
TRACEBACK_LIMIT = 4000


@dataclass(frozen=True)
class Described:
    message: str
    exception: str  # class name; '' for a classified task error
    traceback: str  # '' for a classified task error


def describe(error: BaseException) -> Described:
    if isinstance(error, TaskError):
        return Described(str(error) or type(error).__name__, "", "")
    name = type(error).__name__
    text = str(error)
    lines = "".join(traceback.format_exception(error)).rstrip()
    if len(lines) > TRACEBACK_LIMIT:
        lines = "..." + lines[-(TRACEBACK_LIMIT - 3) :]
    return Described(f"{name}: {text}" if text else name, name, lines)
