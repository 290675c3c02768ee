"""Turning what a client asks for into a valid NewTask, or a clear InvalidInput.

Everything a request can get wrong is checked here, before anything is written:
a task that fails validation leaves no trace in Redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from taskflow.errors import InvalidInput, TooLarge, quoted
from taskflow.metadata_rules import MAX_IDEMPOTENCY_KEY, MAX_RETRIES_CEILING, check_metadata
from taskflow.settings import Settings
from taskflow.store import NewTask
from taskflow.store.keys import DEFAULT_QUEUE
from taskflow.store.tasks import check_queue_name
from taskflow.tasks.registry import TaskType
from taskflow.tasks.registry import task_type as task_type_of

MAX_METADATA_BYTES = 64 * 1024
PDF_MAGIC = b"%PDF-"
PDF_CONTENT_TYPE = "application/pdf"
PRIORITY_RANGE = range(0, 10)
# A run time further ahead than this is refused (issue 15).
MAX_RUN_AHEAD = timedelta(days=365)


@dataclass(frozen=True)
class Limits:
    max_content_bytes: int
    max_payload_bytes: int
    default_max_retries: int
    default_retention_s: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_content_bytes=settings.max_content_bytes,
            max_payload_bytes=settings.max_payload_bytes,
            default_max_retries=settings.max_retries,
            default_retention_s=settings.retention_seconds,
        )


class Intake:
    """Validates requests and builds the NewTask values the store creates."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def task(
        self,
        task_type: str,
        content: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        max_retries: int | None = None,
        priority: int = 0,
        idempotency_key: str = "",
        payload: bytes = b"",
        run_at: datetime | None = None,
        delay: timedelta | None = None,
        remote_queue: str = "",
        queue: str = "",
        retention: timedelta | None = None,
    ) -> NewTask:
        """`remote_queue`: the queue of a remote worker's task type, which only that
        worker can validate; empty for a type registered here. `queue` (the
        creator's choice) overrides the type's queue."""
        metadata = dict(metadata or {})
        self._check_sizes(content, metadata, payload)
        if metadata:
            try:
                check_metadata(metadata)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
        if max_retries is not None and not 0 <= max_retries <= MAX_RETRIES_CEILING:
            raise InvalidInput(f"max_retries must be between 0 and {MAX_RETRIES_CEILING}")
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise InvalidInput(f"idempotency_key is longer than {MAX_IDEMPOTENCY_KEY} characters")
        if not task_type:
            raise InvalidInput("task_type is required")
        if priority not in PRIORITY_RANGE:
            raise InvalidInput(
                f"priority must be between {PRIORITY_RANGE.start} and {PRIORITY_RANGE.stop - 1}"
            )
        due = run_time(run_at, delay)
        # A remote worker's type is unknown here: only that worker can validate it.
        kind = None if remote_queue else task_type_of(task_type)
        if kind is not None and kind.validate:
            kind.validate(content, metadata, payload)
        queue = check_queue_name(queue or remote_queue or (kind.queue if kind else DEFAULT_QUEUE))
        return NewTask(
            retention_s=self._retention_s(kind, retention),
            task_type=task_type,
            content=content,
            metadata=metadata,
            max_retries=self.limits.default_max_retries if max_retries is None else max_retries,
            priority=priority,
            idempotency_key=idempotency_key,
            payload=payload,
            run_at=due,
            queue="" if queue == DEFAULT_QUEUE else queue,
        )

    def _retention_s(self, kind: TaskType | None, retention: timedelta | None) -> int:
        """The task's own retention, else its type's (a remote worker's type, None
        here, has none), else the global one."""
        if retention is not None:
            if retention < timedelta(0):
                raise InvalidInput("retention must not be negative")
            return int(retention.total_seconds())
        own = kind.retention_s if kind is not None else None
        return self.limits.default_retention_s if own is None else own

    def summarize(self, content: str, *, idempotency_key: str = "") -> NewTask:
        if not content.strip():
            raise InvalidInput("content must not be empty")
        return self.task("summarize", content, idempotency_key=idempotency_key)

    def pdfxtract(
        self,
        pdf: bytes,
        *,
        filename: str,
        issue_date: str = "",
        content_type: str = "",
        idempotency_key: str = "",
    ) -> NewTask:
        if content_type and content_type != PDF_CONTENT_TYPE:
            raise InvalidInput(f"file must be {PDF_CONTENT_TYPE}, not {quoted(content_type)}")
        if not pdf:
            raise InvalidInput("file is empty")
        if len(pdf) > self.limits.max_payload_bytes:
            raise TooLarge(
                f"file is {len(pdf)} bytes; the limit is {self.limits.max_payload_bytes}"
            )
        if not pdf.startswith(PDF_MAGIC):
            raise InvalidInput("file is not a PDF document")
        metadata = {
            "filename": filename or "document.pdf",
            "issue_date": check_issue_date(issue_date),
            "file_size": len(pdf),
            "content_type": PDF_CONTENT_TYPE,
        }
        return self.task(
            "pdfxtract", "", metadata=metadata, idempotency_key=idempotency_key, payload=pdf
        )

    def _check_sizes(self, content: str, metadata: Mapping[str, Any], payload: bytes) -> None:
        # A character is at most 4 bytes of UTF-8: short content needs no encoding.
        if len(content) * 4 > self.limits.max_content_bytes:
            size = len(content.encode())
            if size > self.limits.max_content_bytes:
                raise TooLarge(
                    f"content is {size} bytes; the limit is {self.limits.max_content_bytes}"
                )
        if len(payload) > self.limits.max_payload_bytes:
            raise TooLarge(
                f"payload is {len(payload)} bytes; the limit is {self.limits.max_payload_bytes}"
            )
        if metadata and len(repr(metadata)) > MAX_METADATA_BYTES:
            raise TooLarge(f"metadata is larger than {MAX_METADATA_BYTES} bytes")


def run_time(run_at: datetime | None, delay: timedelta | None) -> datetime | None:
    """The absolute time a task asks to run at; None for "at once". A time in the
    past also means at once (the store compares it with the Redis clock)."""
    if run_at is None and delay is None:
        return None
    if run_at is not None and delay is not None:
        raise InvalidInput("give run_at or delay, not both")
    now = datetime.now(UTC)
    if delay is not None:
        if delay < timedelta(0):
            raise InvalidInput("delay must not be negative")
        if delay > MAX_RUN_AHEAD:
            raise InvalidInput("delay must be at most 365 days")
        return now + delay
    if run_at is None:
        return None
    if run_at.tzinfo is None:
        raise InvalidInput("run_at must carry a time zone")
    if run_at - now > MAX_RUN_AHEAD:
        raise InvalidInput("run_at must be at most 365 days ahead")
    return run_at


def check_issue_date(text: str) -> str:
    """An ISO 8601 date or datetime, normalised; '' when none was given."""
    if not text:
        return ""
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            return parse(text).isoformat()
        except ValueError:
            continue
    raise InvalidInput(f"issue_date {quoted(text)} is not an ISO 8601 date")
