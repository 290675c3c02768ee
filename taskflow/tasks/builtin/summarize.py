"""`summarize`: a summary of a text (contract §6).

With a provider (OPENROUTER_API_KEY set) the chat model summarises, with the
prompt in prompts/summarize.md; its reply is streamed where the provider streams,
the text so far shown as the task's progress message. Without one, a local
extractive summary runs so the system works out of the box. Which path produced
a result is recorded in the result itself: a local summary starts with
EXTRACTIVE_MARK, a model's never does. (The result stays plain text, as the contract wants.)
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from taskflow.errors import InvalidInput
from taskflow.tasks.registry import TaskContext, task
from taskflow.tasks.services import provider_of

log = logging.getLogger(__name__)
EXTRACTIVE_MARK = "[extractive summary] "
# Share of the sentences a local summary keeps (at least one, at most MAX_SENTENCES).
SUMMARY_SHARE = 0.2
MAX_SENTENCES = 5
# A streamed summary's progress: its newest PARTIAL_CHARS characters as the message
# (the store keeps 200), its length against the length expected as the fraction.
PARTIAL_CHARS = 200
EXPECTED_MIN_CHARS = 200
MAX_STREAMED_FRACTION = 0.95

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?")
# Function words of the languages we meet most; words of <= 3 letters are skipped too.
_STOPWORD_TEXT = """
about above after again against also because been before being below between both
could does doing down during each from further have having here herself himself
into itself just more most other over same should some such than that their theirs
them themselves then there these they this those through under until very were
what when where which while whom will with would your yours anche come ogni della
delle dello degli alla alle allo agli dalla dalle dagli nella nelle negli sulla
sulle sugli questo questa questi queste quello quella quelli quelle sono essere
stato stata hanno però perché quando dove ancora tutti tutte dopo prima senza
contro verso mentre
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def validate(content: str, metadata: Mapping[str, Any], payload: bytes) -> None:
    if not content.strip():
        raise InvalidInput("content must not be empty")


@cache
def prompt(name: str) -> str:
    """A prompt file of prompts/ (read once)."""
    return (resources.files("taskflow.tasks.builtin") / "prompts" / f"{name}.md").read_text()


@task("summarize", validate=validate)
async def summarize(ctx: TaskContext) -> str:
    provider = provider_of(ctx)
    if provider is None:
        log.info("event=summary_local task_id=%s", ctx.task_id)
        return EXTRACTIVE_MARK + extractive_summary(ctx.content)
    reply = await provider.chat(
        [
            {"role": "system", "content": prompt("summarize")},
            {"role": "user", "content": ctx.content},
        ],
        on_partial=partial_reporter(ctx),
    )
    return reply.strip()


def partial_reporter(ctx: TaskContext) -> Callable[[str], None]:
    """Shows a streamed summary as it grows: progress whose message is the newest
    part of the text (a progress message holds PARTIAL_CHARS), and whose fraction
    is an estimate from the length a summary of this text usually has (never 1:
    the task's end says it is done)."""
    expected = max(EXPECTED_MIN_CHARS, len(ctx.content) * SUMMARY_SHARE)

    def report(text: str) -> None:
        flat = " ".join(text.split())
        shown = flat if len(flat) <= PARTIAL_CHARS else "…" + flat[-(PARTIAL_CHARS - 1) :]
        ctx.progress(min(MAX_STREAMED_FRACTION, len(text) / expected), shown)

    return report


def sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    return [s for s in _SENTENCE_END.split(flat) if s]


def content_words(text: str) -> list[str]:
    words = (w.lower() for w in _WORD.findall(text))
    return [w for w in words if len(w) > 3 and w not in _STOPWORDS]


def extractive_summary(text: str) -> str:
    """The sentences whose words are most frequent in the text, in their order.

    Each sentence scores the mean relative frequency of its content words; the best
    fifth (1 to MAX_SENTENCES sentences) is kept.
    """
    found = sentences(text)
    keep = max(1, min(MAX_SENTENCES, math.ceil(len(found) * SUMMARY_SHARE)))
    if len(found) <= keep:
        return " ".join(found)
    frequency = Counter(content_words(text))
    top = max(frequency.values(), default=1)

    def score(sentence: str) -> float:
        words = content_words(sentence)
        return sum(frequency[w] / top for w in words) / math.sqrt(len(words)) if words else 0.0

    ranked = sorted(range(len(found)), key=lambda i: score(found[i]), reverse=True)
    return " ".join(found[i] for i in sorted(ranked[:keep]))


def keywords(text: str, count: int = 5) -> list[str]:
    """The most frequent content words of `text`."""
    return [word for word, _ in Counter(content_words(text)).most_common(count)]
