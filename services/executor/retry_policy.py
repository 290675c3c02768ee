"""How long a failed task waits before its next try (contract §2: keep the numbers)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from taskflow.tasks.errors import TaskError

# Delay schedules in seconds by error class, indexed by retry_count; the last
# entry repeats.
SCHEDULES: dict[str, tuple[float, ...]] = {
    "InsufficientCredits": (300, 600, 1800),
    "RateLimitError": (120, 300, 600, 1200),
    "ServiceUnavailable": (5, 10, 30, 60, 120),
    "NetworkTimeout": (2, 5, 10, 30, 60),
    "Default": (5, 15, 60, 300),
}
JITTER = 0.10  # uniform in [0, 10% of the delay]


@dataclass(frozen=True)
class Classified:
    """What the executor does with a failure."""

    error_type: str
    permanent: bool
    delay_s: float
    consumes_retry: bool = True


def classify(
    error: BaseException, retry_count: int, rng: random.Random | None = None
) -> Classified:
    """The class of `error` and, if retryable, the delay before the next try."""
    if isinstance(error, TaskError):
        error_type, permanent, retry_after = error.error_type, error.permanent, error.retry_after
    else:
        error_type, permanent, retry_after = "Default", False, None
    if permanent:
        return Classified(error_type, True, 0.0)
    consumes = not isinstance(error, TaskError) or error.consumes_retry
    delay = retry_delay(error_type, retry_count, retry_after, rng)
    return Classified(error_type, False, delay, consumes)


def retry_delay(
    error_type: str,
    retry_count: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    schedule = SCHEDULES.get(error_type, SCHEDULES["Default"])
    base = schedule[min(retry_count, len(schedule) - 1)]
    # Ours: a provider asking for a longer wait (Retry-After) is honoured.
    if retry_after is not None and retry_after > base:
        base = retry_after
    return base + (rng or random).uniform(0, JITTER * base)
