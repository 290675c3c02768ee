"""`summarize`: a summary of a text (contract §6).

The provider-backed path and the local fallback come with the provider work; for
now the local extractive summary keeps the lead sentences.
"""

import re
from collections.abc import Mapping
from typing import Any

from taskflow.errors import InvalidInput
from taskflow.tasks.registry import TaskContext, task

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def validate(content: str, metadata: Mapping[str, Any], payload: bytes) -> None:
    if not content.strip():
        raise InvalidInput("content must not be empty")


@task("summarize", validate=validate)
async def summarize(ctx: TaskContext) -> str:
    sentences = [s for s in _SENTENCE_END.split(ctx.content.strip()) if s]
    return " ".join(sentences[:3])
