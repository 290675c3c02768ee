"""Structured logs: one event per line, key=value, to stderr, with secrets masked.

Every line passes one filter on the way out, whichever logger wrote it (uvicorn's
access log included): bearer tokens, `token=` query values and the configured
secret values themselves (API token, provider key...) are replaced by `***`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

MASK = "***"
# `Bearer <token>` anywhere, and a `token=` / `api_key=` / `key=` query parameter.
SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[^\s'\",;]+"),
    re.compile(r"(?i)([?&](?:access_)?(?:token|api_key|apikey|key)=)[^&\s'\"]+"),
)


class RedactSecrets(logging.Filter):
    """Masks secrets in a record's message and traceback before any handler formats it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        # The patterns cannot match without one of these words: most lines (one per
        # task) skip the regular expressions.
        lowered = text.lower()
        if "bearer" in lowered or "key=" in lowered or "token=" in lowered:
            for pattern in SECRET_PATTERNS:
                text = pattern.sub(rf"\g<1>{MASK}", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad arguments: the handler reports it as usual
            return True
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


_redactor = RedactSecrets()


def redactor() -> RedactSecrets:
    """The process's secret filter (configure_logging's), for lines kept elsewhere
    than stderr (e.g. a task's log lines in Redis)."""
    return _redactor


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    # Our format names no caller, thread or process: skip collecting them for every
    # record (the optimisations the logging HOWTO lists; the executor logs a line per
    # task, and the caller's frame walk was a large part of its cost).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    global _redactor
    _redactor = RedactSecrets(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_redactor)
    logging.basicConfig(
        level=level.upper(),
        format="ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        handlers=[handler],
        force=True,
    )
