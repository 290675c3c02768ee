"""/openapi.json tells the truth: a bounded schemathesis run (every check, a few
examples per operation) over the real gateway and services ends with no failure.

It walks whatever operations /openapi.json lists, so routes added later are held to
the same promise: each status they answer is declared, with the body they send.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from taskflow.redis_server import BundledRedis
from tests.e2e.conftest import MODULE_LOOP, whole_stack
from tests.support.gateway_stack import GatewayStack

pytestmark = [MODULE_LOOP, pytest.mark.slow, pytest.mark.timeout(300)]
TOKEN = "schemathesis-token"
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 5
# A fixed seed: the same cases every run, so a failure in CI can be replayed here.
SEED = 20261130
RUN_DEADLINE_S = 240


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def secured(redis_server: BundledRedis) -> AsyncIterator[GatewayStack]:
    """With a token, so the auth checks (missing or wrong credentials) apply too."""
    async with whole_stack(redis_server, TASKFLOW_API_TOKEN=TOKEN) as running:
        yield running


async def test_every_operation_answers_as_its_schema_says(
    secured: GatewayStack, redis_url: str, tmp_path: Path
) -> None:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{secured.base_url}/openapi.json",
        "--checks=all",
        f"--max-examples={EXAMPLES_PER_OPERATION}",
        f"--seed={SEED}",
        "--phases=examples,coverage,fuzzing,stateful",
        "--workers=1",
        "--request-timeout=30",
        f"--header=Authorization: Bearer {TOKEN}",
        "--suppress-health-check=all",
        f"--report-dir={tmp_path}",
    ]
    run = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        async with asyncio.timeout(RUN_DEADLINE_S):
            output, _ = await run.communicate()
    finally:
        if run.returncode is None:
            run.kill()
            await run.wait()
    text = output.decode(errors="replace")
    assert run.returncode == 0, text
    assert "No issues found" in text or "passed" in text, text
