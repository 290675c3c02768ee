"""The built-in task types; importing this package registers them."""

from taskflow.tasks.builtin import noop, summarize

__all__ = ["noop", "summarize"]
