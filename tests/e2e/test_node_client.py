"""A gRPC client generated from the protos by another toolchain (Node's
@grpc/proto-loader + @grpc/grpc-js) creates a task and reads it back."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from importlib import resources
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import MODULE_LOOP
from tests.support.gateway_stack import GatewayStack, wait_for_state

pytestmark = MODULE_LOOP
CLIENT_DIR = Path(__file__).resolve().parents[1] / "support" / "node_client"


async def run(*command: str, env: dict[str, str] | None = None) -> str:
    """Run a command without blocking the loop that serves the gRPC services."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=CLIENT_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(180):
        out, err = await process.communicate()
    assert process.returncode == 0, f"{command} failed:\n{err.decode()}\n{out.decode()}"
    return out.decode()


@pytest.fixture(scope="module")
def node() -> str:
    found, npm = shutil.which("node"), shutil.which("npm")
    if not found or not npm:
        pytest.skip("node and npm are needed for the Node gRPC client check (Node 20+)")
    return found


async def test_node_client_creates_and_reads_a_task(
    node: str, stack: GatewayStack, http: httpx.AsyncClient
) -> None:
    if not (CLIENT_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        await run("npm", "ci", "--no-audit", "--no-fund")
    well_known = resources.files("grpc_tools") / "_proto"
    env = {**os.environ, "TASKFLOW_PROTO_INCLUDES": str(well_known)}

    out = await run(node, "create_and_get.js", stack.settings.scheduler_address, env=env)
    answer = json.loads(out)
    created, task = answer["created"], answer["task"]
    assert (created["state"], created["created"]) == ("TASK_STATE_PENDING", True)
    assert task["task_id"] == created["task_id"]
    assert (task["task_type"], task["content"], task["max_retries"]) == (
        "echo",
        "hello from node",
        2,
    )
    assert task["metadata"]["fields"]["client"]["stringValue"] == "grpc-js"
    done = await wait_for_state(http, created["task_id"], "COMPLETED")
    assert done["result"] == "hello from node"
    assert done["metadata"] == {"client": "grpc-js"}
