"""Domain errors, mapped once at each edge (gRPC status codes, HTTP statuses).

Domain code raises these; servicers and the gateway translate them. Nothing below
the edges knows about gRPC or HTTP.
"""


class TaskflowError(Exception):
    """Base of every error the domain raises on purpose."""


class NotFound(TaskflowError):
    """The named task, queue or resource does not exist."""


class InvalidInput(TaskflowError):
    """The request itself is wrong (bad id, empty content, bad dates...)."""


class TooLarge(InvalidInput):
    """The request carries more data than the configured limit allows."""


class Conflict(TaskflowError):
    """The resource exists but its state does not allow the operation."""


class LeaseLost(Conflict):
    """A worker tried to finish a task it no longer holds (its lease expired)."""


class CorruptTask(TaskflowError):
    """Stored data for a task cannot be read back (malformed hash fields)."""


class Unavailable(TaskflowError):
    """A dependency (Redis, a service, the provider) cannot be reached right now."""


# Error messages travel back as gRPC status details (an HTTP/2 header, a few KiB at
# most): a message quoting a 17,000-character id would not fit. Quote input through this.
QUOTE_LIMIT = 80


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`value` as repr() quotes it, cut to `limit` characters with its length said."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"
