"""The run times `taskflow submit --in / --at` accept, as absolute UTC times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DELAY = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_delay(text: str) -> timedelta:
    """'90s', '10m', '1h30m', '2d' (a bare number is seconds); ValueError otherwise."""
    spec = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", spec):
        return timedelta(seconds=float(spec))
    parts = _DELAY.findall(spec)
    if not parts or "".join(n + u for n, u in parts) != spec:
        raise ValueError(f"{text!r} is not a delay like 90s, 10m, 1h30m or 2d")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def parse_at(text: str) -> datetime:
    """An ISO 8601 date-time; without a zone it is local time. ValueError otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(UTC)
