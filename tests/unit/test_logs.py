"""Secrets never reach a log line, whatever the case or position of the marker."""

from __future__ import annotations

import pytest

from taskflow.logs import RedactSecrets


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        ("authorization: BEARER abc", "authorization: BEARER ***"),
        ("GET /api?TOKEN=abc&page=2", "GET /api?TOKEN=***&page=2"),
        ("GET /x?a=1&api_key=k1&key=k2", "GET /x?a=1&api_key=***&key=***"),
        ("provider key sk-live-123 failed", "provider key *** failed"),
        (
            "event=task_completed task_id=1 seconds=0.001",
            "event=task_completed task_id=1 seconds=0.001",
        ),
    ],
)
def test_secrets_are_masked_and_other_lines_kept(line: str, logged: str) -> None:
    assert RedactSecrets(["sk-live-123"]).redact(line) == logged
