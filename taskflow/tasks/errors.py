"""Errors a task handler raises to say how its failure should be treated (contract §2).

Each class names its retry schedule through `error_type`; anything else a handler
raises counts as `Default`. `PermanentError` sends the task to the DLQ at once.
`Parked` is no failure at all: the task is held back, then runs again.
"""

from __future__ import annotations


class TaskError(Exception):
    """A classified task failure."""

    error_type = "Default"
    permanent = False
    # False: the call was never attempted (no rate-limit token), so the
    # task is rescheduled without spending one of its retries.
    consumes_retry = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        # Seconds the provider asked us to wait (e.g. a Retry-After header).
        self.retry_after = retry_after


class PermanentError(TaskError):
    """Retrying cannot help: bad input, rejected credentials, missing dependency."""

    error_type = "PermanentError"
    permanent = True


class InsufficientCredits(TaskError):
    """HTTP 402 from the provider."""

    error_type = "InsufficientCredits"


class RateLimitError(TaskError):
    """HTTP 429, or no rate-limiter token within the wait timeout."""

    error_type = "RateLimitError"


class ServiceUnavailable(TaskError):
    """HTTP 503 (an open circuit breaker parks the task instead: Parked)."""

    error_type = "ServiceUnavailable"


class NetworkTimeout(TaskError):
    """Other retryable 5xx, timeouts, connection errors, the task time limit."""

    error_type = "NetworkTimeout"


class Parked(Exception):
    """Not a failure: the task must wait `hold_s` seconds before it runs again (e.g.
    its provider's breaker opened while the call waited to be sent). The executor
    parks it: scheduled again with no retry spent and nothing in error_history.
    Handlers let it propagate."""

    def __init__(self, reason: str, *, hold_s: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hold_s = hold_s
