"""HTTP answers and transport failures -> the task error classes of contract §2."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from taskflow.tasks.errors import (
    InsufficientCredits,
    NetworkTimeout,
    PermanentError,
    RateLimitError,
    ServiceUnavailable,
    TaskError,
)


class KeyRejected(PermanentError):
    """HTTP 401/403: the provider refuses the API key."""


# Provider error text kept in task errors: enough to diagnose, never a whole page.
_EXCERPT = 300


def error_for_response(response: httpx.Response) -> TaskError:
    """The error a non-2xx answer stands for (Retry-After kept as retry_after)."""
    status = response.status_code
    message = f"provider answered HTTP {status}: {provider_message(response)}"
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 402:
        return InsufficientCredits(message, retry_after=retry_after)
    if status == 429:
        return RateLimitError(message, retry_after=retry_after)
    if status == 503:
        return ServiceUnavailable(message, retry_after=retry_after)
    if status >= 500 or status == 408:
        return NetworkTimeout(message, retry_after=retry_after)
    if status in (401, 403):
        return KeyRejected(message)
    return PermanentError(message)


def error_for_transport(error: httpx.TransportError) -> TaskError:
    """Timeouts, refused or dropped connections: all retryable NetworkTimeout."""
    kind = "timed out" if isinstance(error, httpx.TimeoutException) else "failed"
    return NetworkTimeout(f"provider request {kind}: {type(error).__name__}: {error}")


def provider_message(response: httpx.Response) -> str:
    """The provider's own error message when it sends one, else the start of the body."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:_EXCERPT] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:_EXCERPT]
    return json.dumps(body)[:_EXCERPT]


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
