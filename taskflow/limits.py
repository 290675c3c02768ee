"""Limits a task type declares: a cluster-wide rate and a concurrency limit, per
type or per value of a key taken from the task (docs/state-machine.md, "Limits").

    @task("send_mail", rate_limit="100/s")
    @task("report", concurrency=2, concurrency_key="metadata.tenant")

Plain values here; taskflow/store/limits.py keeps them in Redis, where every claim
enforces them on the server clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from taskflow.errors import InvalidInput, quoted

# "100/s", "10/m", "5/2s", "1/500ms", "3600/h": requests per interval.
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|min|h)\s*$")
_UNIT_MS = {"ms": 1.0, "s": 1000.0, "m": 60_000.0, "min": 60_000.0, "h": 3_600_000.0}
# The key a concurrency limit is counted by: "metadata.<name>[.<name>...]".
_KEY = re.compile(r"^metadata(\.[A-Za-z0-9_-]+)+$")


def parse_rate(rate: str) -> tuple[int, int]:
    """'100/s' -> (100, 1000): tasks per interval in ms; InvalidInput if malformed."""
    match = _RATE.match(rate)
    if not match:
        raise InvalidInput(f"rate_limit {quoted(rate)} is not like '100/s', '10/m' or '5/2s'")
    count, amount, unit = int(match[1]), float(match[2] or 1), match[3]
    interval_ms = round(amount * _UNIT_MS[unit])
    if count < 1 or interval_ms < 1:
        raise InvalidInput(f"rate_limit {quoted(rate)} must allow at least 1 task per 1 ms")
    return count, interval_ms


@dataclass(frozen=True)
class TypeLimits:
    """A type's limits; the zero value limits nothing."""

    rate: str = ""  # e.g. "100/s"; "" for none
    concurrency: int = 0  # tasks ACTIVE at once (per key value); 0 for none
    concurrency_key: str = ""  # e.g. "metadata.tenant"; "" counts the whole type

    def __post_init__(self) -> None:
        if self.rate:
            parse_rate(self.rate)
        if self.concurrency < 0:
            raise InvalidInput("concurrency must be >= 0")
        if self.concurrency_key and not _KEY.match(self.concurrency_key):
            raise InvalidInput(
                f"concurrency_key {quoted(self.concurrency_key)} is not like 'metadata.tenant'"
            )
        if self.concurrency_key and not self.concurrency:
            raise InvalidInput("concurrency_key needs a concurrency limit")

    @property
    def any(self) -> bool:
        return bool(self.rate or self.concurrency)
