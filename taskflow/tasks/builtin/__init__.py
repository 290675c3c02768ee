"""The built-in task types; importing this package registers them."""

from taskflow.tasks.builtin import noop, pdfxtract, summarize

__all__ = ["noop", "pdfxtract", "summarize"]
