"""`pdfxtract`: the articles of a newspaper PDF, page by page (contract §6).

With a provider, each page is rendered to PNG (pypdfium2) and the vision model
lists its articles (prompt in prompts/pdfxtract.md). Without one, each page's
text is extracted locally (pypdf) as one article. A page that fails is `skipped`
with its reason and the task still completes; but when the provider cannot serve
anyone right now (breaker open, no rate-limit token, no credits, key refused) or
every page failed for a transient reason, the error propagates so the task is
retried later. Result JSON:

    {"filename", "issue_date" ("unknown" if absent), "pages": [{"page_number",
     "status": "processed" | "skipped", "reason", "articles": [{"title", "subtitle",
     "author", "body", "topics": [...], "summary"}]}]}
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pypdf
import pypdfium2  # type: ignore[import-untyped]

from taskflow.errors import InvalidInput
from taskflow.provider.guarded import Provider, RateLimitWait
from taskflow.provider.http_errors import KeyRejected
from taskflow.tasks.builtin.summarize import extractive_summary, keywords, prompt
from taskflow.tasks.errors import InsufficientCredits, Parked, PermanentError, TaskError
from taskflow.tasks.registry import TaskContext, task
from taskflow.tasks.services import provider_of, settings_of

log = logging.getLogger(__name__)
PDF_MAGIC = b"%PDF-"
# Pages sent to the vision model at once, per task.
PAGE_CONCURRENCY = 4
# Render scale: 2 = 144 dpi, enough for newspaper body text.
RENDER_SCALE = 2.0
# Errors that say the provider cannot serve any page now: retry the whole task.
# (Parked covers an open breaker: BreakerOpen is one.)
_TASK_WIDE = (RateLimitWait, Parked, InsufficientCredits, KeyRejected)
# pdfium is not thread-safe: one rendering at a time per process.
_PDFIUM = threading.Lock()
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")
ARTICLE_FIELDS = ("title", "subtitle", "author", "body", "summary")


def validate(content: str, metadata: Mapping[str, Any], payload: bytes) -> None:
    if not payload.startswith(PDF_MAGIC):
        raise InvalidInput("pdfxtract needs a PDF payload (starting with %PDF-)")


# Told how far the extraction is: fraction done, message (ctx.progress).
Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    pass


@task("pdfxtract", validate=validate)
async def pdfxtract(ctx: TaskContext) -> str:
    pdf = await ctx.payload()
    limit = settings_of(ctx).pdf_max_bytes
    if not pdf.startswith(PDF_MAGIC):
        raise PermanentError("payload is not a PDF document")
    if len(pdf) > limit:
        raise PermanentError(f"PDF is {len(pdf)} bytes; the limit is {limit}")
    provider = provider_of(ctx)
    if provider is None:
        pages = await asyncio.to_thread(text_pages, pdf, ctx.progress)
    else:
        pages = await vision_pages(provider, pdf, ctx.progress)
    result = {
        "filename": str(ctx.metadata.get("filename") or "document.pdf"),
        "issue_date": str(ctx.metadata.get("issue_date") or "unknown"),
        "pages": pages,
    }
    log.info(
        "event=pdf_extracted task_id=%s path=%s pages=%d skipped=%d",
        ctx.task_id, "local" if provider is None else "vision", len(pages),
        sum(p["status"] == "skipped" for p in pages),
    )  # fmt: skip
    return json.dumps(result, ensure_ascii=False)


def page_result(number: int, articles: list[dict[str, Any]], reason: str = "") -> dict[str, Any]:
    return {
        "page_number": number,
        "status": "skipped" if reason else "processed",
        "reason": reason,
        "articles": articles,
    }


# -- local path ---------------------------------------------------------------------


def text_pages(pdf: bytes, progress: Progress = _no_progress) -> list[dict[str, Any]]:
    """Each page's text as one article (title: its first line); `progress` is told
    after each page ("page 3 of 10")."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # font warnings on every page
    try:
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        pages = list(reader.pages)
    except Exception as exc:
        raise PermanentError(f"PDF cannot be read: {exc}") from exc
    results = []
    for number, page in enumerate(pages, start=1):
        results.append(text_page(number, page))
        progress(number / len(pages), f"page {number} of {len(pages)}")
    return results


def text_page(number: int, page: Any) -> dict[str, Any]:
    try:
        text = clean_text(page.extract_text() or "")
    except Exception as exc:
        return page_result(number, [], f"text extraction failed: {exc}")
    if not text:
        return page_result(number, [], "no extractable text (a scanned page?)")
    return page_result(number, [local_article(text)])


def clean_text(text: str) -> str:
    """Undo hyphenation at line ends, drop control characters, trim each line."""
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    text = "".join(c for c in text if c.isprintable() or c == "\n")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line).strip()


def local_article(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    return {
        "title": lines[0][:200],
        "subtitle": "",
        "author": "",
        "body": text,
        "topics": keywords(text),
        "summary": extractive_summary(text),
    }


# -- vision path --------------------------------------------------------------------


async def vision_pages(
    provider: Provider, pdf: bytes, progress: Progress = _no_progress
) -> list[dict[str, Any]]:
    """Each page by the vision model, a few at once; `progress` is told as pages
    finish ("3 of 10 pages")."""
    count = await asyncio.to_thread(page_count, pdf)
    gate = asyncio.Semaphore(PAGE_CONCURRENCY)
    done = 0

    async def one(number: int) -> dict[str, Any] | BaseException:
        nonlocal done
        async with gate:
            try:
                return await vision_page(provider, pdf, number, count)
            except _TASK_WIDE:
                raise
            except Exception as exc:
                return exc
            finally:
                done += 1
                progress(done / count, f"{done} of {count} pages")

    outcomes = await asyncio.gather(*(one(n) for n in range(1, count + 1)))
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if failures and len(failures) == count and all(_transient(f) for f in failures):
        raise failures[0]
    return [
        page_result(n, [], f"{type(o).__name__}: {o}") if isinstance(o, BaseException) else o
        for n, o in enumerate(outcomes, start=1)
    ]


def _transient(error: BaseException) -> bool:
    return isinstance(error, TaskError) and not error.permanent


async def vision_page(provider: Provider, pdf: bytes, number: int, count: int) -> dict[str, Any]:
    png = await asyncio.to_thread(render_page, pdf, number - 1)
    image = "data:image/png;base64," + base64.b64encode(png).decode()
    reply = await provider.chat(
        [
            {"role": "system", "content": prompt("pdfxtract")},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"Page {number} of {count}."},
                    {"type": "image_url", "image_url": {"url": image}},
                ],
            },
        ],
        model=provider.vision_model,
        json_output=True,
    )
    return page_result(number, parse_articles(reply))


def page_count(pdf: bytes) -> int:
    with _PDFIUM:
        try:
            document = pypdfium2.PdfDocument(pdf)
        except pypdfium2.PdfiumError as exc:
            raise PermanentError(f"PDF cannot be read: {exc}") from exc
        try:
            return len(document)
        finally:
            document.close()


def render_page(pdf: bytes, index: int) -> bytes:
    with _PDFIUM:
        document = pypdfium2.PdfDocument(pdf)
        try:
            image = document[index].render(scale=RENDER_SCALE).to_pil()
        finally:
            document.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def parse_articles(reply: str) -> list[dict[str, Any]]:
    """The model's JSON reply as a list of articles of contract §6 (ValueError if not)."""
    data = json.loads(_FENCE.sub("", reply.strip()))
    items = data.get("articles") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("model reply has no 'articles' list")
    articles = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("an article in the model reply is not an object")
        article: dict[str, Any] = {f: str(item.get(f) or "") for f in ARTICLE_FIELDS}
        topics = item.get("topics") or []
        article["topics"] = [str(t) for t in topics] if isinstance(topics, list) else [str(topics)]
        articles.append(article)
    return articles
