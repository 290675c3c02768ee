"""When a recurring schedule fires: cron (with a time zone) or a fixed interval.

Cron parsing and next-time computation are croniter's; this module only checks
the input and turns times into Unix milliseconds. A cron expression has five
fields, or six with seconds first (`*/10 * * * * *`: every ten seconds).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from taskflow.errors import InvalidInput

DEFAULT_TIME_ZONE = "UTC"
MAX_INTERVAL_MS = 366 * 24 * 3600 * 1000


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` ('' = UTC); InvalidInput if unknown."""
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"time_zone {name!r} is not a known IANA time zone") from None


def check_cron(expression: str) -> None:
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise InvalidInput(f"cron {expression!r} must have 5 fields, or 6 with seconds first")
    try:
        croniter(expression, datetime.now(UTC), second_at_beginning=len(fields) == 6)
    except (CroniterBadCronError, CroniterBadDateError, ValueError, KeyError) as exc:
        raise InvalidInput(f"cron {expression!r} is not valid: {exc}") from None


def check_interval(interval_ms: int) -> None:
    if not 0 < interval_ms <= MAX_INTERVAL_MS:
        raise InvalidInput("interval must be more than 0 and at most 366 days")


def next_fire_ms(
    *, cron: str, time_zone: str, interval_ms: int, anchor_ms: int, after_ms: int
) -> int:
    """The first fire time strictly after `after_ms`. An interval schedule fires at
    `anchor_ms + k * interval_ms`; a cron one at the expression's times in its zone
    (croniter's DST rule: a local time skipped in spring fires at the first valid
    time after it, a local time that happens twice in autumn fires both times)."""
    if not cron:
        if after_ms < anchor_ms:
            return anchor_ms
        return anchor_ms + ((after_ms - anchor_ms) // interval_ms + 1) * interval_ms
    start = datetime.fromtimestamp(after_ms / 1000, tz=zone(time_zone))
    it = croniter(cron, start, second_at_beginning=len(cron.split()) == 6)
    nxt = it.get_next(datetime)
    return int(nxt.timestamp() * 1000)
