"""summarize with a provider that streams: the reply is asked for with
`"stream": true`, the text so far is seen as the running task's progress message
while it grows, and the result is the whole reply as without streaming. A provider
that answers plain JSON anyway, and OPENROUTER_STREAM=false, give the same result."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore
from tests.integration.test_handlers import TEXT, settled, worker_with
from tests.support.fake_openai import FakeOpenAI
from tests.support.waiting import eventually

SUMMARY = " ".join(f"word{i}" for i in range(40)) + "."


async def test_a_streamed_summary_shows_its_text_so_far_then_the_whole_result(
    redis_url: str, redis_client: Redis, store: TaskStore, fake: FakeOpenAI
) -> None:
    fake.content = SUMMARY
    fake.chunk_delay_s = 0.1  # four seconds of streaming
    created = await store.create(NewTask("summarize", TEXT))
    seen: list[tuple[float, str]] = []
    async with worker_with(redis_url, redis_client, store, fake):

        async def streamed_a_while() -> bool:
            task = await store.get(created.task_id)
            if task.progress is not None and (not seen or seen[-1][1] != task.progress_message):
                seen.append((task.progress, task.progress_message))
            return len(seen) >= 3 or task.state is TaskState.COMPLETED

        await eventually(streamed_a_while, what="partial summaries while the task runs")
        task = await settled(store, created.task_id)
    assert task.state is TaskState.COMPLETED
    assert task.result == SUMMARY
    assert len(seen) >= 3  # seen growing, not only at the end
    for fraction, message in seen:
        assert SUMMARY.startswith(message)
        assert 0 < fraction < 1
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    (request,) = fake.received()
    assert request.json()["stream"] is True


@pytest.mark.parametrize("how", ["provider answers JSON", "OPENROUTER_STREAM=false"])
async def test_without_streaming_the_result_is_the_same(
    redis_url: str, redis_client: Redis, store: TaskStore, fake: FakeOpenAI, how: str
) -> None:
    fake.content = SUMMARY
    more: dict[str, object] = {}
    if how == "provider answers JSON":
        fake.streams = False
    else:
        more["OPENROUTER_STREAM"] = False
    created = await store.create(NewTask("summarize", TEXT))
    async with worker_with(redis_url, redis_client, store, fake, **more):
        task = await settled(store, created.task_id)
    assert task.state is TaskState.COMPLETED
    assert task.result == SUMMARY
    (request,) = fake.received()
    assert request.json().get("stream", False) is (how == "provider answers JSON")
    assert task.progress is None  # no partial text without a stream
