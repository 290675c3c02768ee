"""Redis replies as text: one decoder for every store module (bytes from a client
made without decode_responses, str with it, and integers from counters)."""

from __future__ import annotations


def text(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
