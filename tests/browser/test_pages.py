"""The dashboard in a real browser (chromium) against the whole stack: each test
runs one spec file of frontend/e2e and saves screenshots in test-artifacts/browser."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from redis import Redis

from taskflow.store.keys import Keys
from tests.browser.specs import CHROMIUM, run_spec
from tests.browser.stack import Stack, start_gateway, stop, wait_for_gateway
from tests.support.fake_openai import FakeOpenAI, Reply

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make browser` installs it"
    ),
    # The first test also builds the dashboard if it is stale and starts the stack.
    pytest.mark.timeout(300),
]


def test_every_page_renders_without_console_errors(live: Stack) -> None:
    run_spec("pages", live.base_url)


def test_a_summarize_task_from_the_new_task_page_completes(live: Stack) -> None:
    run_spec("summarize", live.base_url)


def test_a_task_in_the_dlq_is_retried_to_completion(live: Stack, provider: FakeOpenAI) -> None:
    # The first provider call is refused for good (HTTP 400), the retry's succeeds.
    provider.answer(Reply(status=400), times=1)
    run_spec("dlq", live.base_url)


def test_a_task_is_deleted_after_confirmation(live: Stack) -> None:
    run_spec("delete", live.base_url)


def test_a_delayed_task_is_cancelled_from_its_details(live: Stack) -> None:
    run_spec("cancel", live.base_url)


def test_progress_and_logs_of_a_running_task_show_live(live: Stack) -> None:
    run_spec("progress", live.base_url)


def test_the_circuit_breaker_is_opened_and_reset(live: Stack) -> None:
    run_spec("breaker", live.base_url)


def test_pause_shows_a_banner_and_resumes_from_it(live: Stack) -> None:
    run_spec("pause", live.base_url)


def test_filters_live_in_the_url_and_counters_click_through(live: Stack) -> None:
    run_spec("filters", live.base_url)


def test_every_registered_type_and_a_run_time_in_new_task_and_the_type_filter(live: Stack) -> None:
    run_spec("types", live.base_url)


def test_the_workers_page_drills_down_to_running_tasks_and_failures(live: Stack) -> None:
    run_spec("workers", live.base_url)


def test_cleanup_operations_report_their_counts(live: Stack) -> None:
    run_spec("cleanup", live.base_url)


def test_schedules_page_and_a_tasks_retention(live: Stack) -> None:
    run_spec("schedules", live.base_url)


def test_phone_width_and_keyboard_navigation(live: Stack) -> None:
    run_spec("layout", live.base_url)


def test_the_dashboard_asks_for_the_token_a_gateway_needs(
    live: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    token = "browser-test-token"
    logs = tmp_path_factory.mktemp("token-gateway")
    gateway = start_gateway(live, logs, {"TASKFLOW_API_TOKEN": token})
    try:
        wait_for_gateway(gateway)
        run_spec("token", gateway.base_url, {"TASKFLOW_API_TOKEN": token})
    finally:
        stop(gateway)


def test_the_queues_page_pauses_and_resumes_a_queue(live: Stack) -> None:
    run_spec("queues", live.base_url)


def test_the_limits_page_shows_a_tenant_at_its_limit(live: Stack) -> None:
    run_spec("limits", live.base_url)


def test_a_task_set_aside_as_corrupt_shows_a_badge_and_is_dropped(live: Stack) -> None:
    task_id = _set_aside_as_corrupt(live)
    run_spec("corrupt", live.base_url, {"CORRUPT_TASK_ID": task_id})


def _set_aside_as_corrupt(live: Stack) -> str:
    """A task hash without its creation time on the default queue, with a wake-up
    token: the stack's executor claims it and sets it aside; its id once it has."""
    keys, task_id = Keys(), str(uuid.uuid4())
    with Redis.from_url(live.redis_url) as redis:
        fields = {"task_id": task_id, "state": "PENDING", "task_type": "echo", "created_us": ""}
        redis.hset(keys.task(task_id), mapping=fields)
        redis.lpush(keys.primary, task_id)
        redis.lpush(keys.wakeup, "1")
    with httpx.Client(base_url=live.base_url, timeout=10) as http:
        for _ in range(600):
            if http.get("/api/v1/queues/status").json()["corrupt_tasks"] == 1:
                return task_id
            time.sleep(0.1)
    raise AssertionError(f"{task_id} not set aside within 60 s\n{live.logs()}")
