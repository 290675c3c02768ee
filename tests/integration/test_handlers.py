"""summarize and pdfxtract run by a real worker, with the fake provider and without a key."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from services.executor.retry_policy import JITTER
from services.executor.worker import Worker, WorkerConfig
from taskflow.provider.guarded import PARK_SPREAD
from taskflow.store import NewTask, Task, TaskState, TaskStore
from taskflow.store.breaker import CircuitBreakerStore
from taskflow.tasks import load_task_modules
from taskflow.tasks.builtin.pdfxtract import text_pages
from taskflow.tasks.builtin.summarize import EXTRACTIVE_MARK
from taskflow.tasks.services import build_task_services, close_task_services
from tests.support.fake_openai import FakeOpenAI, Reply, provider_overrides
from tests.support.stack import settings_for
from tests.support.tiny_pdf import text_pdf
from tests.support.waiting import eventually

NEWSPAPER = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "newspaper-sample.pdf"
TEXT = (
    "The city council approved the new harbour budget on Monday. "
    "Fishing boats had waited two years for the harbour repairs. "
    "The weather was mild and sunny. "
    "Council members said the harbour budget covers dredging and new harbour lights. "
    "A local bakery celebrated its anniversary. "
    "Work on the harbour starts in spring, the council said."
)
ARTICLES = {
    "articles": [
        {
            "title": "Harbour reopens",
            "subtitle": "Repairs done",
            "author": "A. Writer",
            "body": "The harbour reopened on Monday.",
            "topics": ["harbour", "city"],
            "summary": "The harbour is open again.",
        }
    ]
}


@pytest.fixture(autouse=True)
def _builtin_types() -> None:
    load_task_modules([])


@contextlib.asynccontextmanager
async def worker_with(
    redis_url: str, client: Redis, store: TaskStore, fake: FakeOpenAI | None, **more: Any
) -> AsyncIterator[None]:
    """A real worker whose handlers get the services an executor would build."""
    settings = settings_for(redis_url, **provider_overrides(fake, **more))
    services = await build_task_services(settings, client)
    worker = Worker(
        store,
        WorkerConfig(concurrency=4, heartbeat_s=0.2, retry_delay_scale=1.0),
        services=services,
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await runner
        await close_task_services(services)


async def settled(store: TaskStore, task_id: str) -> Task:
    """The task once it has left PENDING/ACTIVE."""
    done = {TaskState.COMPLETED, TaskState.SCHEDULED, TaskState.DLQ}

    async def left_the_worker() -> bool:
        return (await store.get(task_id)).state in done

    await eventually(left_the_worker, within=60, what=f"task {task_id} settled")
    return await store.get(task_id)


async def run_one(
    redis_url: str, client: Redis, store: TaskStore, fake: FakeOpenAI | None, task: NewTask,
    **more: Any,
) -> Task:  # fmt: skip
    created = await store.create(task)
    async with worker_with(redis_url, client, store, fake, **more):
        return await settled(store, created.task_id)


async def test_summarize_with_a_provider_returns_the_model_summary(
    redis_url: str, redis_client: Redis, store: TaskStore, fake: FakeOpenAI
) -> None:
    task = await run_one(redis_url, redis_client, store, fake, NewTask("summarize", TEXT))
    assert task.state is TaskState.COMPLETED
    assert task.result == "A fake summary."
    (request,) = fake.received()
    system, user = request.json()["messages"]
    assert system["role"] == "system"
    assert "summar" in system["content"].lower()
    assert user == {"role": "user", "content": TEXT}


async def test_summarize_without_a_key_summarises_locally_and_says_so(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    task = await run_one(redis_url, redis_client, store, None, NewTask("summarize", TEXT))
    assert task.state is TaskState.COMPLETED
    assert task.result.startswith(EXTRACTIVE_MARK)
    summary = task.result.removeprefix(EXTRACTIVE_MARK)
    assert "harbour budget" in summary
    assert "bakery" not in summary
    assert len(summary) < len(TEXT) / 2


def delay_of(task: Task) -> float:
    """Seconds between the failure and the retry's due time (both server clock)."""
    assert task.retry_after is not None
    failed_at = datetime.fromisoformat(task.error_history[-1].timestamp)
    return (task.retry_after - failed_at).total_seconds()


# Each failure class: (reply, state, error_type, base delay of the first retry).
FAILURES = {
    "429-with-retry-after": (Reply(status=429, retry_after="200"), "RateLimitError", 200),
    "429": (Reply(status=429), "RateLimitError", 120),
    "402": (Reply(status=402), "InsufficientCredits", 300),
    "503": (Reply(status=503), "ServiceUnavailable", 5),
    "500": (Reply(status=500), "NetworkTimeout", 2),
    "dropped": (Reply(drop=True), "NetworkTimeout", 2),
    "slow": (Reply(delay_s=4.0), "NetworkTimeout", 2),
    "400": (Reply(status=400), "PermanentError", None),
    "401": (Reply(status=401), "PermanentError", None),
    "403": (Reply(status=403), "PermanentError", None),
    "404": (Reply(status=404), "PermanentError", None),
}


async def test_each_failure_class_leads_to_its_state_and_delay(
    redis_url: str, redis_client: Redis, store: TaskStore, fake: FakeOpenAI
) -> None:
    ids = {}
    for case, (reply, _, _) in FAILURES.items():
        fake.answer_when(f"case:{case}.", reply)
        ids[case] = (await store.create(NewTask("summarize", f"case:{case}. {TEXT}"))).task_id
    # The timeout must cut the slow case short yet leave a loaded machine time for the
    # others: a late answer would be recorded as a timeout, not as its own class.
    async with worker_with(redis_url, redis_client, store, fake, OPENROUTER_TIMEOUT=2.0):
        tasks = {case: await settled(store, task_id) for case, task_id in ids.items()}
    for case, (_, error_type, base_delay) in FAILURES.items():
        task = tasks[case]
        assert task.error_type == error_type, case
        if base_delay is None:
            assert task.state is TaskState.DLQ, case
            continue
        assert (task.state, task.retry_count) == (TaskState.SCHEDULED, 1), case
        assert base_delay - 0.01 <= delay_of(task) <= base_delay * (1 + JITTER) + 0.01, case


async def test_a_breaker_open_before_the_call_parks_the_task(
    redis_url: str, redis_client: Redis, store: TaskStore, fake: FakeOpenAI
) -> None:
    """Open before the token wait, not only during it: parked (park.lua), not failed."""
    await CircuitBreakerStore(redis_client).open("openrouter")
    # Even a task with no retries left is held back, not sent to the DLQ.
    task = await run_one(
        redis_url, redis_client, store, fake, NewTask("summarize", TEXT, max_retries=0),
        CIRCUIT_TIMEOUT=30,
    )  # fmt: skip
    assert (task.state, task.retry_count) == (TaskState.SCHEDULED, 0)
    assert task.error_history == []
    assert task.error_type == ""
    reason = next(r.reason for r in task.state_history if r.reason)
    assert "circuit breaker" in reason
    assert task.retry_after is not None
    held_s = (task.retry_after - datetime.now(UTC)).total_seconds()
    assert 30 * 0.9 <= held_s <= 30 * (1 + PARK_SPREAD)
    assert fake.received() == []


def pdf_task(pdf: bytes, issue_date: str = "") -> NewTask:
    metadata = {"filename": "paper.pdf", "issue_date": issue_date}
    return NewTask("pdfxtract", "", metadata=metadata, payload=pdf)


GENERATED = text_pdf(
    [
        ["Harbour reopens", "The harbour reopened on Monday after two years of repairs."],
        ["Bakery turns fifty", "The bakery on Main Street celebrated fifty years."],
    ]
)


async def test_pdfxtract_without_a_key_extracts_each_page_locally(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    task = await run_one(redis_url, redis_client, store, None, pdf_task(GENERATED, "2024-05-01"))
    assert task.state is TaskState.COMPLETED
    result = json.loads(task.result)
    assert (result["filename"], result["issue_date"]) == ("paper.pdf", "2024-05-01")
    first, second = result["pages"]
    assert (first["page_number"], first["status"], first["reason"]) == (1, "processed", "")
    (article,) = first["articles"]
    assert article["title"] == "Harbour reopens"
    assert "reopened on Monday" in article["body"]
    assert set(article) == {"title", "subtitle", "author", "body", "topics", "summary"}
    assert "harbour" in article["topics"]
    assert second["articles"][0]["title"] == "Bakery turns fifty"
    assert task.progress is not None  # page by page, throttled: at least the first
    assert task.progress_message.startswith("page ")


def test_pdfxtract_reports_progress_page_by_page() -> None:
    reports: list[tuple[float, str]] = []
    text_pages(GENERATED, lambda fraction, message: reports.append((fraction, message)))
    assert reports == [(0.5, "page 1 of 2"), (1.0, "page 2 of 2")]


@pytest.mark.skipif(not NEWSPAPER.exists(), reason="shared newspaper fixture not present")
async def test_pdfxtract_reads_the_sample_newspaper_without_a_key(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    task = await run_one(redis_url, redis_client, store, None, pdf_task(NEWSPAPER.read_bytes()))
    result = json.loads(task.result)
    assert result["issue_date"] == "unknown"
    assert [p["status"] for p in result["pages"]] == ["processed", "processed"]
    for page in result["pages"]:
        assert all(len(a["body"]) > 500 for a in page["articles"])


async def test_pdfxtract_with_a_provider_asks_the_vision_model_per_page(
    redis_url: str, redis_client: Redis, store: TaskStore, fake: FakeOpenAI
) -> None:
    fake.content = json.dumps(ARTICLES)
    fake.answer_when("Page 2 of 2", Reply(content="Sorry, I cannot read this page."))
    task = await run_one(redis_url, redis_client, store, fake, pdf_task(GENERATED))
    assert task.state is TaskState.COMPLETED
    first, second = json.loads(task.result)["pages"]
    assert first["status"] == "processed"
    assert first["articles"] == ARTICLES["articles"]
    assert (second["status"], second["articles"]) == ("skipped", [])
    assert second["reason"]
    requests = fake.received()
    assert len(requests) == 2
    for request in requests:
        body = request.json()
        assert body["model"] == "fake/vision-model"
        image = body["messages"][1]["content"][1]["image_url"]["url"]
        assert image.startswith("data:image/png;base64,")


@pytest.mark.skipif(not NEWSPAPER.exists(), reason="shared newspaper fixture not present")
async def test_pdfxtract_sends_the_sample_newspaper_pages_to_the_vision_model(
    redis_url: str, redis_client: Redis, store: TaskStore, fake: FakeOpenAI
) -> None:
    fake.content = json.dumps(ARTICLES)
    task = await run_one(redis_url, redis_client, store, fake, pdf_task(NEWSPAPER.read_bytes()))
    pages = json.loads(task.result)["pages"]
    assert [(p["page_number"], p["status"]) for p in pages] == [(1, "processed"), (2, "processed")]
    assert all(p["articles"][0]["body"] for p in pages)


async def test_pdfxtract_retries_when_every_page_failed_for_a_transient_reason(
    redis_url: str, redis_client: Redis, store: TaskStore, fake: FakeOpenAI
) -> None:
    fake.answer(Reply(status=500))
    task = await run_one(redis_url, redis_client, store, fake, pdf_task(GENERATED))
    assert (task.state, task.error_type) == (TaskState.SCHEDULED, "NetworkTimeout")


async def test_pdfxtract_sends_a_broken_pdf_to_the_dlq(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    task = await run_one(redis_url, redis_client, store, None, pdf_task(b"%PDF-1.4 broken"))
    assert (task.state, task.error_type) == (TaskState.DLQ, "PermanentError")
