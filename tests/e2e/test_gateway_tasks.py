"""Contract §4, task creation and management, through the gateway over real HTTP."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from taskflow.settings import Settings
from taskflow.store import NewTask, StoreConfig, TaskStore
from tests.e2e.conftest import MODULE_LOOP, SETTINGS
from tests.support.gateway_stack import create_task, paused_executors, wait_for_state
from tests.support.tiny_pdf import text_pdf

pytestmark = MODULE_LOOP
UNKNOWN_ID = "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11"
DETAIL_FIELDS = {
    "task_id", "state", "content", "retry_count", "max_retries", "last_error", "error_type",
    "retry_after", "created_at", "updated_at", "completed_at", "result", "task_type",
    "error_history", "state_history",
}  # fmt: skip
SUMMARY_FIELDS = {
    "task_id", "task_type", "state", "retry_count", "max_retries", "last_error", "error_type",
    "created_at", "updated_at", "completed_at", "content_length", "has_result",
}  # fmt: skip


def pdf_upload(data: bytes, content_type: str = "application/pdf") -> dict[str, Any]:
    return {"file": ("paper.pdf", data, content_type)}


# --- creating ----------------------------------------------------------------------------


async def test_summarize_creates_a_pending_task_that_completes(http: httpx.AsyncClient) -> None:
    text = "The cat sat on the mat. The dog barked at the cat. Then it rained all day."
    reply = await http.post("/api/v1/tasks/summarize/", json={"content": text})
    assert reply.status_code == 201
    body = reply.json()
    assert set(body) == {"task_id", "state"}
    assert body["state"] == "PENDING"
    task = await wait_for_state(http, body["task_id"], "COMPLETED")
    assert task["task_type"] == "summarize"
    assert task["result"].startswith("[extractive summary] ")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"content": ""}, 422),
        ({}, 422),
        ({"content": 5}, 422),
        ({"content": "x" * (SETTINGS["TASKFLOW_MAX_CONTENT_BYTES"] + 1)}, 413),
    ],
)
async def test_summarize_refuses_bad_content(
    http: httpx.AsyncClient, body: dict[str, Any], status: int
) -> None:
    reply = await http.post("/api/v1/tasks/summarize/", json=body)
    assert reply.status_code == status
    assert "detail" in reply.json()
    assert (await http.get("/api/v1/tasks/")).json()["total_items"] == 0


async def test_pdfxtract_takes_a_pdf_upload(http: httpx.AsyncClient) -> None:
    pdf = text_pdf([["Headline", "Body text of the article."]])
    reply = await http.post(
        "/api/v1/tasks/pdfxtract", files=pdf_upload(pdf), data={"issue_date": "2024-05-01"}
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["state"] == "PENDING"
    task = await wait_for_state(http, reply.json()["task_id"], "COMPLETED")
    assert task["metadata"] == {
        "filename": "paper.pdf",
        "issue_date": "2024-05-01",
        "file_size": len(pdf),
        "content_type": "application/pdf",
    }
    assert json.loads(task["result"])["issue_date"] == "2024-05-01"


@pytest.mark.parametrize(
    ("files", "data", "status"),
    [
        (pdf_upload(b"plain text", "text/plain"), {}, 400),
        (pdf_upload(b"not really a pdf"), {}, 400),
        (pdf_upload(b"%PDF-" + b"0" * SETTINGS["TASKFLOW_MAX_PAYLOAD_BYTES"]), {}, 413),
        (pdf_upload(b"%PDF-" + b"0" * 2 * SETTINGS["TASKFLOW_GATEWAY_MAX_BODY_BYTES"]), {}, 413),
        (pdf_upload(text_pdf([["x"]])), {"issue_date": "yesterday"}, 400),
        (None, {"issue_date": "2024-05-01"}, 422),
    ],
    ids=[
        "not-pdf-type",
        "not-pdf-bytes",
        "over-payload-limit",
        "over-body-limit",
        "bad-date",
        "no-file",
    ],
)
async def test_pdfxtract_refuses_bad_uploads(
    http: httpx.AsyncClient, files: dict[str, Any] | None, data: dict[str, str], status: int
) -> None:
    reply = await http.post("/api/v1/tasks/pdfxtract", files=files, data=data)
    assert reply.status_code == status, reply.text
    assert isinstance(reply.json()["detail"], str | list)
    assert (await http.get("/api/v1/tasks/")).json()["total_items"] == 0


async def test_generic_create_with_metadata_retries_and_idempotency(
    http: httpx.AsyncClient,
) -> None:
    body = {
        "task_type": "echo",
        "content": "hi",
        "metadata": {"source": "test", "n": 3},
        "max_retries": 1,
        "idempotency_key": "once",
    }
    first = await http.post("/api/v1/tasks", json=body)
    again = await http.post("/api/v1/tasks", json=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == {"task_id": first.json()["task_id"], "state": "PENDING", "created": True}
    assert again.json()["task_id"] == first.json()["task_id"]
    assert again.json()["created"] is False
    task = await wait_for_state(http, first.json()["task_id"], "COMPLETED")
    assert (task["metadata"], task["max_retries"], task["result"]) == (
        {"source": "test", "n": 3},
        1,
        "hi",
    )


def nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    "body",
    [
        {"task_type": "no_such_type"},
        {"content": "x"},
        {"task_type": "echo", "max_retries": -1},
        {"task_type": "echo", "max_retries": 101},  # the scheduler's ceiling
        {"task_type": "echo", "max_retries": 2**31},  # more than the proto's int32
        {"task_type": "echo", "priority": 2**31},
        {"task_type": "echo", "priority": -(2**31) - 1},
        {"task_type": "echo", "metadata": {"deep": nested(40)}},
        {"task_type": "echo", "priority": 10},  # priorities are 0..9
        {"task_type": "echo", "queue": "Not A Queue"},  # named queues match [a-z0-9_-]{1,64}
        {"task_type": "echo", "run_at": "2030-01-01T00:00:00"},  # no time zone
        {"task_type": "echo", "delay": "10 parsecs"},
        {"task_type": "echo", "delay": 400 * 86400},  # over a year
        {"task_type": "echo", "delay": -1},
        {"task_type": "echo", "delay": 5, "run_at": "2030-01-01T00:00:00Z"},
    ],
)
async def test_generic_create_refuses_bad_requests(
    http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    for path, payload in (("/api/v1/tasks", body), ("/api/v1/tasks/batch", {"tasks": [body]})):
        reply = await http.post(path, json=payload)
        assert reply.status_code == 422, (path, reply.text)
        assert "detail" in reply.json()
    assert (await http.get("/api/v1/tasks/")).json()["total_items"] == 0


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_metadata_numbers_json_cannot_hold_are_refused(
    http: httpx.AsyncClient, number: str
) -> None:
    # Python's JSON parser accepts these; JSON and a protobuf Struct do not.
    body = '{"task_type": "echo", "metadata": {"ratio": ' + number + "}}"
    headers = {"content-type": "application/json"}
    reply = await http.post("/api/v1/tasks", content=body, headers=headers)
    assert reply.status_code == 422
    assert "finite" in json.dumps(reply.json())
    assert (await http.get("/api/v1/tasks/")).json()["total_items"] == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/tasks/summarize/", r'{"content": "half a pair: \ud800"}'),
        ("/api/v1/tasks/summarize/", r'{"content": "fine", "idempotency_key": "\udfff"}'),
        ("/api/v1/tasks", r'{"task_type": "echo", "content": "\ud800"}'),
        ("/api/v1/tasks", r'{"task_type": "ec\ud800ho"}'),
        ("/api/v1/tasks", r'{"task_type": "echo", "metadata": {"k\ud800": 1}}'),
        ("/api/v1/tasks", r'{"task_type": "echo", "metadata": {"k": ["\ud800"]}}'),
        ("/api/v1/tasks", r'{"task_type": "echo", "priority": "\ud800"}'),
        ("/api/v1/tasks/batch", r'{"tasks": [{"task_type": "echo", "content": "\ud800"}]}'),
    ],
)
async def test_text_that_is_not_unicode_is_refused(
    http: httpx.AsyncClient, path: str, body: str
) -> None:
    # JSON may escape half a surrogate pair; no UTF-8 encoder takes one.
    reply = await http.post(path, content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 422, reply.text
    assert "detail" in reply.json()
    assert (await http.get("/api/v1/tasks/")).json()["total_items"] == 0


async def test_metadata_nesting_up_to_the_limit_is_kept(http: httpx.AsyncClient) -> None:
    deep = nested(32)
    task_id = await create_task(http, "echo", "x", metadata={"deep": deep})
    assert (await http.get(f"/api/v1/tasks/{task_id}")).json()["metadata"] == {"deep": deep}


async def test_batch_creates_all_or_none(http: httpx.AsyncClient) -> None:
    tasks = [{"task_type": "echo", "content": str(i)} for i in range(3)]
    reply = await http.post("/api/v1/tasks/batch", json={"tasks": tasks})
    assert reply.status_code == 201
    created = reply.json()["tasks"]
    assert [t["state"] for t in created] == ["PENDING"] * 3
    assert len({t["task_id"] for t in created}) == 3

    bad = await http.post(
        "/api/v1/tasks/batch", json={"tasks": [*tasks, {"task_type": "no_such_type"}]}
    )
    assert bad.status_code == 422
    assert "tasks[3]" in bad.json()["detail"]
    assert (await http.get("/api/v1/tasks/")).json()["total_items"] == 3
    assert (await http.post("/api/v1/tasks/batch", json={"tasks": []})).status_code == 422


async def test_create_with_a_run_time_waits_scheduled(http: httpx.AsyncClient) -> None:
    later = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    past = "2020-01-01T00:00:00+00:00"
    bodies: list[dict[str, Any]] = [
        {"run_at": later},
        {"delay": "600s"},
        {"delay": 600},
        {"delay": "PT10M"},
    ]
    for body in bodies:
        reply = await http.post("/api/v1/tasks", json={"task_type": "echo", **body})
        assert reply.status_code == 201, reply.text
        assert reply.json()["state"] == "SCHEDULED"
    batch = await http.post(
        "/api/v1/tasks/batch",
        json={
            "tasks": [{"task_type": "echo", "delay": 600}, {"task_type": "echo", "run_at": past}]
        },
    )
    assert [t["state"] for t in batch.json()["tasks"]] == ["SCHEDULED", "PENDING"]
    status = (await http.get("/api/v1/queues/status")).json()
    assert status["queues"]["scheduled"] == len(bodies) + 1


async def test_cancel_over_rest(http: httpx.AsyncClient) -> None:
    created = await http.post("/api/v1/tasks", json={"task_type": "echo", "delay": 600})
    task_id = created.json()["task_id"]
    reply = await http.post(f"/api/v1/tasks/{task_id}/cancel")  # served by the transcoder
    assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "TASK_STATE_CANCELLED"
    again = await http.post(f"/api/v1/tasks/{task_id}/cancel")
    assert again.status_code in {400, 409}
    listed = await http.get("/api/v1/tasks/", params={"status": "CANCELLED"})
    assert [t["task_id"] for t in listed.json()["tasks"]] == [task_id]
    detail = (await http.get(f"/api/v1/tasks/{task_id}")).json()
    assert detail["run_at"], detail
    assert detail["cancelled_at"], detail
    assert datetime.fromisoformat(detail["cancelled_at"]) < datetime.fromisoformat(detail["run_at"])
    assert detail["cancel_requested_at"] is None  # never ran: cancelled at once
    for _ in range(2):
        await http.post("/api/v1/tasks", json={"task_type": "echo", "delay": 600})
    bulk = await http.post("/api/v1/tasks/cancel", json={"task_type": "echo"})
    assert bulk.status_code == 200, bulk.text
    assert (bulk.json()["cancelled"], bulk.json()["cancel_requested"]) == (2, 0)


# --- reading -----------------------------------------------------------------------------


async def test_get_task_has_every_contract_field(http: httpx.AsyncClient) -> None:
    task_id = await create_task(http, "doomed", "never works")
    task = await wait_for_state(http, task_id, "DLQ")
    assert set(task) >= DETAIL_FIELDS
    assert task["error_type"] == "PermanentError"
    assert task["last_error"] == "this input can never work"
    assert [s["state"] for s in task["state_history"]] == ["PENDING", "ACTIVE", "DLQ"]
    assert task["error_history"][0]["state_transition"] == "ACTIVE -> DLQ"
    for field in ("created_at", "updated_at", "dlq_at"):
        assert datetime.fromisoformat(task[field]).tzinfo is not None
    assert task["completed_at"] is None


async def test_get_unknown_or_malformed_task(http: httpx.AsyncClient) -> None:
    missing = await http.get(f"/api/v1/tasks/{UNKNOWN_ID}")
    assert missing.status_code == 404
    assert UNKNOWN_ID in missing.json()["detail"]
    assert (await http.get("/api/v1/tasks/not-a-uuid")).status_code == 422


# With the pinned protobuf runtime, 49 levels is a reply the scheduler encodes and the
# gateway cannot decode; 60 is one the scheduler cannot encode.
@pytest.mark.parametrize(("levels", "words"), [(49, "could not decode"), (60, "failed")])
async def test_a_task_no_reply_can_carry_is_a_502_not_a_crash(
    http: httpx.AsyncClient, redis_url: str, levels: int, words: str
) -> None:
    # Stored behind the API's back (as before metadata depth was checked).
    client = Redis.from_url(redis_url)
    try:
        store = TaskStore(client, StoreConfig())
        await store.create(NewTask("echo", "x", metadata={"deep": nested(levels)}))
    finally:
        await client.aclose()
    reply = await http.get("/api/v1/tasks/")
    assert reply.status_code == 502
    assert words in reply.json()["detail"]
    # The summaries leave metadata out, so the dashboard's list still works.
    assert (await http.get("/api/v1/tasks/summaries/")).json()["total_items"] == 1


async def test_list_filters_sorts_and_pages(http: httpx.AsyncClient) -> None:
    ids = [await create_task(http, "echo", str(i)) for i in range(5)]
    doomed = await create_task(http, "doomed")
    await wait_for_state(http, doomed, "DLQ")
    for task_id in ids:
        await wait_for_state(http, task_id, "COMPLETED")

    page = (await http.get("/api/v1/tasks/", params={"page_size": 2})).json()
    assert (page["page"], page["page_size"], page["total_items"], page["total_pages"]) == (
        1,
        2,
        6,
        3,
    )
    assert page["status"] is None
    assert [t["task_id"] for t in page["tasks"]] == [doomed, ids[4]]  # newest first
    assert set(page["tasks"][0]) >= DETAIL_FIELDS

    last = (await http.get("/api/v1/tasks/", params={"page_size": 2, "page": 3})).json()
    assert [t["task_id"] for t in last["tasks"]] == [ids[1], ids[0]]
    oldest = await http.get("/api/v1/tasks/", params={"sort_order": "asc", "page_size": 1})
    assert oldest.json()["tasks"][0]["task_id"] == ids[0]

    completed = (await http.get("/api/v1/tasks/", params={"status": "COMPLETED"})).json()
    assert (completed["total_items"], completed["status"]) == (5, "COMPLETED")
    by_type = (await http.get("/api/v1/tasks/", params={"task_type": "doomed"})).json()
    assert [t["task_id"] for t in by_type["tasks"]] == [doomed]
    in_dlq = (await http.get("/api/v1/tasks/", params={"queue": "dlq"})).json()
    assert [t["task_id"] for t in in_dlq["tasks"]] == [doomed]
    by_prefix = (await http.get("/api/v1/tasks/", params={"task_id": ids[2][:8]})).json()
    assert ids[2] in [t["task_id"] for t in by_prefix["tasks"]]

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert (await http.get("/api/v1/tasks/", params={"start_date": future})).json()[
        "total_items"
    ] == 0
    window = {"start_date": past, "end_date": future}
    assert (await http.get("/api/v1/tasks/", params=window)).json()["total_items"] == 6


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": 2**31},  # more than the proto's int32
        {"page": 10**20},
        {"page_size": 101},
        {"page_size": 0},
        {"status": "RUNNING"},
        {"queue": "nope"},
        {"sort_order": "sideways"},
        {"sort_by": "task_type"},
        {"start_date": "not a date"},
    ],
)
async def test_list_refuses_bad_queries(http: httpx.AsyncClient, params: dict[str, Any]) -> None:
    for path in ("/api/v1/tasks/", "/api/v1/tasks/summaries/"):
        reply = await http.get(path, params=params)
        assert reply.status_code == 422, (path, params)
        assert "detail" in reply.json()


async def test_summaries_leave_out_content_and_result(http: httpx.AsyncClient) -> None:
    task_id = await create_task(http, "echo", "twelve chars")
    await wait_for_state(http, task_id, "COMPLETED")
    page = (await http.get("/api/v1/tasks/summaries/", params={"status": "COMPLETED"})).json()
    assert set(page) == {"tasks", "page", "page_size", "total_items", "total_pages", "status"}
    [summary] = page["tasks"]
    assert set(summary) == SUMMARY_FIELDS
    assert (summary["content_length"], summary["has_result"]) == (12, True)


# --- changing ----------------------------------------------------------------------------


async def test_retry_sends_a_dlq_task_back(http: httpx.AsyncClient) -> None:
    task_id = await create_task(http, "doomed")
    await wait_for_state(http, task_id, "DLQ")
    reply = await http.post(f"/api/v1/tasks/{task_id}/retry", json={"reset_retry_count": True})
    assert reply.status_code == 200
    assert reply.json() == {"task_id": task_id, "state": "PENDING"}
    task = await wait_for_state(http, task_id, "DLQ")
    assert [s["state"] for s in task["state_history"]][-3:] == ["PENDING", "ACTIVE", "DLQ"]
    assert (await http.post(f"/api/v1/tasks/{task_id}/retry")).status_code == 200


async def test_retry_refuses_unknown_and_non_failed_tasks(http: httpx.AsyncClient) -> None:
    assert (await http.post(f"/api/v1/tasks/{UNKNOWN_ID}/retry")).status_code == 404
    task_id = await create_task(http, "echo", "ok")
    await wait_for_state(http, task_id, "COMPLETED")
    refused = await http.post(f"/api/v1/tasks/{task_id}/retry")
    assert refused.status_code == 400
    assert "detail" in refused.json()


async def test_delete_removes_the_task(http: httpx.AsyncClient) -> None:
    task_id = await create_task(http, "echo", "bye")
    await wait_for_state(http, task_id, "COMPLETED")
    reply = await http.delete(f"/api/v1/tasks/{task_id}")
    assert reply.status_code == 200
    assert reply.json()["task_id"] == task_id
    assert reply.json()["message"]
    assert (await http.get(f"/api/v1/tasks/{task_id}")).status_code == 404
    assert (await http.delete(f"/api/v1/tasks/{task_id}")).status_code == 404


async def test_requeue_orphaned_reports_counts(http: httpx.AsyncClient) -> None:
    reply = await http.post("/api/v1/tasks/requeue-orphaned")
    assert reply.status_code == 200
    assert reply.json() == {
        "found": 0,
        "requeued": 0,
        "errors": [],
        "message": "Found 0 orphaned tasks, requeued 0",
    }


async def test_cleanup_deletes_by_state_and_age(http: httpx.AsyncClient) -> None:
    done = [await create_task(http, "echo", str(i)) for i in range(3)]
    doomed = await create_task(http, "doomed")
    await wait_for_state(http, doomed, "DLQ")
    for task_id in done:
        await wait_for_state(http, task_id, "COMPLETED")

    too_young = {"states": ["COMPLETED"], "older_than_seconds": 3600}
    assert (await http.post("/api/v1/tasks/cleanup", json=too_young)).json()["deleted"] == 0
    reply = await http.post("/api/v1/tasks/cleanup", json={"states": ["COMPLETED"]})
    assert reply.status_code == 200
    assert reply.json() == {"deleted": 3, "message": "Deleted 3 tasks"}
    remaining = (await http.get("/api/v1/tasks/")).json()["tasks"]
    assert [t["task_id"] for t in remaining] == [doomed]

    assert (await http.post("/api/v1/tasks/cleanup", json={})).status_code == 422
    for age in ("1e20", "1e999", "NaN", "-1"):
        reply = await http.post(
            "/api/v1/tasks/cleanup",
            content='{"states": ["DLQ"], "older_than_seconds": ' + age + "}",
            headers={"content-type": "application/json"},
        )
        assert reply.status_code == 422, (age, reply.text)
    bad_state = await http.post("/api/v1/tasks/cleanup", json={"states": ["GONE"]})
    assert bad_state.status_code == 422


# --- following one task --------------------------------------------------------------------


async def read_events(response: httpx.Response) -> list[dict[str, Any]]:
    events = []
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            events.append(json.loads(line.removeprefix("data: ")))
    return events


async def test_task_events_follow_a_task_to_completion(http: httpx.AsyncClient) -> None:
    task_id = await create_task(http, "sleepy", "0.3")
    async with asyncio.timeout(60), http.stream("GET", f"/api/v1/tasks/{task_id}/events") as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = await read_events(reply)
    assert {e["type"] for e in events} == {"task"}
    assert events[0]["old_state"] is None
    assert events[-1]["task"]["state"] == "COMPLETED"
    assert events[-1]["task"]["result"] == task_id
    assert events[-1]["old_state"] == "ACTIVE"
    assert set(events[-1]["task"]) >= DETAIL_FIELDS


async def test_task_events_of_a_deleted_task(http: httpx.AsyncClient, redis_url: str) -> None:
    async with paused_executors(http, redis_url):
        task_id = await create_task(http, "echo", "never runs")
        async with (
            asyncio.timeout(60),
            http.stream("GET", f"/api/v1/tasks/{task_id}/events") as reply,
        ):
            lines = reply.aiter_lines()
            first = json.loads((await anext(lines)).removeprefix("data: "))
            assert first["task"]["state"] == "PENDING"
            assert (await http.delete(f"/api/v1/tasks/{task_id}")).status_code == 200
            events = [json.loads(line[6:]) async for line in lines if line.startswith("data: ")]
    assert events == [{"type": "deleted", "task_id": task_id, "deleted": True}]


async def test_task_events_of_an_unknown_task(http: httpx.AsyncClient) -> None:
    reply = await http.get(f"/api/v1/tasks/{UNKNOWN_ID}/events")
    assert reply.status_code == 404
    assert "detail" in reply.json()


async def test_task_types_lists_every_registered_type_with_its_settings(
    http: httpx.AsyncClient,
) -> None:
    reply = await http.get("/api/v1/task-types")
    assert reply.status_code == 200
    kinds = {kind["name"]: kind for kind in reply.json()["task_types"]}
    assert {"summarize", "pdfxtract", "noop", "echo", "doomed"} <= set(kinds)
    assert kinds["summarize"]["builtin"] is True
    assert kinds["summarize"]["validates_input"] is True
    assert kinds["echo"]["builtin"] is False
    assert kinds["spin"]["cpu_bound"] is True
    assert kinds["sleepy"]["description"] == "Sleeps `content` seconds, then returns its id."
    assert kinds["echo"]["default_max_retries"] == Settings().max_retries
    # Served by the transcoder: proto JSON, where an int64 is a string.
    assert kinds["echo"]["max_content_bytes"] == str(SETTINGS["TASKFLOW_MAX_CONTENT_BYTES"])
    assert kinds["echo"]["queue"] == "default"
