""".env.example documents every setting, and only settings, and is itself valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskflow.settings import Settings
from tests.deploy.files import (
    COMPOSE_ONLY_VARIABLES,
    ENV_EXAMPLE,
    compose_variables,
    env_example,
    env_example_names,
    settings_aliases,
)

# Contract §8 names these; each must be in .env.example (CIRCUIT_* and OPENROUTER_*
# are covered by "every Settings alias").
CONTRACT_NAMES = {
    "REDIS_URL",
    "MAX_RETRIES",
    "DEFAULT_RETRY_RATIO",
    "RETRY_QUEUE_WARNING",
    "RETRY_QUEUE_CRITICAL",
    "WORKER_CONCURRENCY",
    "WORKER_REPLICAS",
    "TASK_TIME_LIMIT",
    "LOG_LEVEL",
    "DEBUG",
}


def test_every_setting_and_contract_name_is_listed() -> None:
    missing = (settings_aliases() | CONTRACT_NAMES) - env_example_names()
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_nothing_else_is_listed() -> None:
    unknown = env_example_names() - settings_aliases() - COMPOSE_ONLY_VARIABLES
    assert not unknown, f".env.example names variables nothing reads: {sorted(unknown)}"


def test_every_compose_variable_is_documented() -> None:
    assert {name for name, _ in compose_variables()} <= env_example_names()


def test_every_line_is_explained_or_grouped() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[number - 1].strip(), f"line {number + 1} ({line}) stands alone"


def test_the_example_is_valid_settings_equal_to_the_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for alias in settings_aliases():
        monkeypatch.delenv(alias, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    from_example = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    assert from_example == Settings(), "an uncommented value differs from the code's default"
    for name, value in env_example().items():
        if name in settings_aliases():
            assert value is not None, name
