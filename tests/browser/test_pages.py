"""The dashboard in a real browser (chromium) against the whole stack: each test
runs one spec file of frontend/e2e and saves screenshots in test-artifacts/browser."""

from __future__ import annotations

import pytest

from tests.browser.specs import CHROMIUM, run_spec
from tests.browser.stack import Stack

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make browser` installs it"
)


def test_every_page_renders_without_console_errors(live: Stack) -> None:
    run_spec("pages", live.base_url)


def test_a_summarize_task_from_the_new_task_page_completes(live: Stack) -> None:
    run_spec("summarize", live.base_url)
