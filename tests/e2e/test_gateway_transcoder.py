"""The transcoder: RPCs with a google.api.http rule served over REST and documented
in /openapi.json from the upstreams' descriptors, with no gateway code per RPC."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from google.api import annotations_pb2

from taskflow.redis_server import free_port
from taskflow.v1 import executor_service_pb2, monitor_service_pb2, scheduler_service_pb2
from tests.e2e.conftest import MODULE_LOOP
from tests.support.gateway_stack import GatewayStack, running_gateway
from tests.support.scratch_service import UPGRADED_PROTO, scratch_server
from tests.support.waiting import until_answering

pytestmark = MODULE_LOOP
OUR_FILES = (scheduler_service_pb2, executor_service_pb2, monitor_service_pb2)
# The comment above DeleteTask in scheduler_service.proto.
DELETE_TASK_COMMENT = (
    "Deletes a task in any state, with its DLQ copy, payload and queue memberships."
)


def http_rules() -> list[tuple[str, str, str]]:
    """(service.method, HTTP method, path template) of every rule in our protos."""
    rules = []
    for module in OUR_FILES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.client_streaming:  # an upload: no route of its own (test_contracts)
                    continue
                rule = method.GetOptions().Extensions[annotations_pb2.http]
                kind = rule.WhichOneof("pattern")
                rules.append((method.full_name, kind, getattr(rule, kind)))
    return rules


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def scratch_gateway(
    stack: GatewayStack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose third upstream serves only the scratch service (compiled when
    the test runs: the gateway's code has never heard of it)."""
    directory: Path = tmp_path_factory.mktemp("scratch")
    async with scratch_server(directory) as address:
        settings = stack.settings.model_copy(update={"executor_address": address})
        async with (
            running_gateway(settings) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=10.0) as http,
        ):
            yield http


async def test_a_new_service_is_served_over_rest(scratch_gateway: httpx.AsyncClient) -> None:
    query = (
        "big=9007199254740993&colour=COLOUR_BLUE&tags=x&tags=y"
        "&when=2024-05-01T12:00:00Z&loud=true&note.text=hi&token=ignored"
    )
    reply = await scratch_gateway.get(f"/api/v1/scratch/shelves/a1/echo?{query}")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "echoed": {
            "name": "shelves/a1",
            "big": "9007199254740993",
            "colour": "COLOUR_BLUE",
            "tags": ["x", "y"],
            "when": "2024-05-01T12:00:00Z",
            "loud": True,
            "note": {"text": "hi"},
        }
    }


async def test_a_body_star_binding_and_a_named_body_field(
    scratch_gateway: httpx.AsyncClient,
) -> None:
    posted = await scratch_gateway.post(
        "/api/v1/scratch/echo", json={"name": "n", "colour": "COLOUR_RED", "big": 7}
    )
    assert posted.status_code == 200, posted.text
    echoed = posted.json()["echoed"]
    assert (echoed["name"], echoed["big"], echoed["colour"]) == ("n", "7", "COLOUR_RED")
    assert (echoed["tags"], echoed["loud"]) == ([], False)  # defaults are written out
    annotated = await scratch_gateway.post(
        "/api/v1/scratch/shelves/b2:annotate", json={"text": "new"}
    )
    assert annotated.status_code == 200, annotated.text
    assert annotated.json()["echoed"]["name"] == "shelves/b2"
    assert annotated.json()["echoed"]["note"] == {"text": "new"}


async def test_bad_input_and_upstream_errors_are_json(scratch_gateway: httpx.AsyncClient) -> None:
    unknown = await scratch_gateway.post("/api/v1/scratch/echo", json={"nope": 1})
    assert unknown.status_code == 422
    assert "nope" in unknown.json()["detail"]
    bad_enum = await scratch_gateway.get("/api/v1/scratch/shelves/a/echo?colour=PURPLE")
    assert bad_enum.status_code == 422
    not_json = await scratch_gateway.post(
        "/api/v1/scratch/echo", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    lone_surrogate = await scratch_gateway.post(
        "/api/v1/scratch/echo",
        content=b'{"name": "\\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert lone_surrogate.status_code == 422
    missing = await scratch_gateway.get("/api/v1/scratch/shelves/missing/echo")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no shelf shelves/missing"}
    wrong_method = await scratch_gateway.delete("/api/v1/scratch/echo")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert (await scratch_gateway.get("/api/v1/scratch/nothing/echo")).status_code == 404


async def test_head_is_answered_where_a_unary_get_is(scratch_gateway: httpx.AsyncClient) -> None:
    head = await scratch_gateway.head("/api/v1/scratch/shelves/a1/echo")
    assert head.status_code == 200
    assert head.headers["content-type"] == "application/json"
    assert head.content == b""
    missing = await scratch_gateway.head("/api/v1/scratch/shelves/missing/echo")
    assert missing.status_code == 404
    # A stream has no HEAD (it would open the stream); a POST-only path neither.
    stream = await scratch_gateway.head("/api/v1/scratch/count/3")
    assert stream.status_code == 405
    assert stream.headers["allow"] == "GET"
    assert (await scratch_gateway.head("/api/v1/scratch/echo")).status_code == 405


async def test_a_server_stream_is_sse_one_event_per_message(
    scratch_gateway: httpx.AsyncClient,
) -> None:
    async with scratch_gateway.stream("GET", "/api/v1/scratch/count/3") as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = [
            json.loads(line.removeprefix("data: "))
            async for line in reply.aiter_lines()
            if line.startswith("data: ")
        ]
    assert events == [{"n": 1}, {"n": 2}, {"n": 3}]


async def test_a_new_service_is_in_openapi_and_metrics(scratch_gateway: httpx.AsyncClient) -> None:
    await scratch_gateway.get("/api/v1/scratch/shelves/a/echo")
    document = (await scratch_gateway.get("/openapi.json")).json()
    echo = document["paths"]["/api/v1/scratch/{name}/echo"]["get"]
    parameters = {p["name"]: p for p in echo["parameters"]}
    assert parameters["name"]["in"] == "path"
    assert parameters["colour"]["schema"]["enum"] == [
        "COLOUR_UNSPECIFIED",
        "COLOUR_RED",
        "COLOUR_BLUE",
    ]
    assert parameters["when"]["schema"]["format"] == "date-time"
    assert "post" in document["paths"]["/api/v1/scratch/echo"]
    assert "/api/v1/scratch/{name}:annotate" in document["paths"]
    stream = document["paths"]["/api/v1/scratch/count/{upto}"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert "scratch.v1.EchoRequest" in document["components"]["schemas"]
    metrics = (await scratch_gateway.get("/metrics")).text
    assert 'route="/api/v1/scratch/{name=shelves/*}/echo"' in metrics


async def test_an_upgraded_upstream_is_served_without_a_gateway_restart(
    stack: GatewayStack, tmp_path: Path
) -> None:
    """The upstream restarts on its address with one more RPC: the gateway's periodic
    reflection finds it; REST and /openapi.json serve it, the old routes stay."""
    address = f"127.0.0.1:{free_port()}"
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    settings = stack.settings.model_copy(
        update={"executor_address": address, "gateway_reflection_refresh_seconds": 0.2}
    )
    async with contextlib.AsyncExitStack() as old_server:
        await old_server.enter_async_context(scratch_server(tmp_path / "old", address))
        async with (
            running_gateway(settings) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=10.0) as http,
        ):
            await until_answering(
                http, "/api/v1/scratch/shelves/a/echo", within=60, what="the scratch routes"
            )
            assert (await http.get("/api/v1/scratch/ping?upto=4")).status_code == 404
            await old_server.aclose()
            async with scratch_server(tmp_path / "new", address, UPGRADED_PROTO):
                await until_answering(
                    http, "/api/v1/scratch/ping?upto=4", within=60, what="the upgraded RPC"
                )
                assert (await http.get("/api/v1/scratch/ping?upto=4")).json() == {"n": 4}
                echoed = await http.get("/api/v1/scratch/shelves/a/echo")
                assert echoed.status_code == 200
                document = (await http.get("/openapi.json")).json()
                assert "/api/v1/scratch/ping" in document["paths"]


async def test_every_rule_of_our_protos_is_in_openapi(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    for name, verb, template in http_rules():
        assert verb in document["paths"].get(template, {}), f"{name}: {verb} {template}"


async def test_transcoded_operations_carry_the_proto_comments(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    delete = document["paths"]["/api/v1/tasks/{task_id}"]["delete"]
    assert delete["operationId"] == "SchedulerService_DeleteTask"
    # The whole comment, its first line as written (the rest goes on about corrupt tasks).
    assert delete["description"].startswith(DELETE_TASK_COMMENT)
    assert "ListCorruptTasks" in delete["description"]
    assert delete["security"] == document["paths"]["/api/v1/tasks/{task_id}"]["get"]["security"]
    schema = document["components"]["schemas"]["taskflow.v1.RetryAllDlqTasksRequest"]
    assert schema["properties"]["reset_retry_count"]["description"] == (
        "Start counting retries from 0 again."
    )


async def test_hand_kept_routes_win_with_the_original_shapes(http: httpx.AsyncClient) -> None:
    created = await http.post("/api/v1/tasks/summarize/", json={"content": "Some text."})
    assert created.status_code == 201
    assert created.json()["state"] == "PENDING"  # the proto JSON would say TASK_STATE_PENDING


async def test_transcoded_paths_redirect_their_other_slash_form(http: httpx.AsyncClient) -> None:
    """As the original does for its endpoints (seed-compat 7), transcoded or not."""
    reply = await http.post("/api/v1/tasks/requeue-orphaned/")
    assert reply.status_code == 307
    assert reply.headers["location"] == "/api/v1/tasks/requeue-orphaned"


async def test_without_hand_kept_routes_every_rpc_is_proto_json(stack: GatewayStack) -> None:
    async with (
        running_gateway(stack.settings, hand_kept=False) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10.0) as http,
    ):
        created = await http.post(
            "/api/v1/tasks", json={"task_type": "summarize", "content": "Some text."}
        )
        assert created.status_code == 200, created.text
        body: dict[str, Any] = created.json()
        assert body["state"] == "TASK_STATE_PENDING"
        assert body["created"] is True
        got = await http.get(f"/api/v1/tasks/{body['task_id']}")
        assert got.status_code == 200, got.text
        assert got.json()["task"]["task_id"] == body["task_id"]
        assert got.json()["task"]["task_type"] == "summarize"


async def test_routes_exist_while_upstreams_are_down_and_new_ones_arrive_later(
    stack: GatewayStack, tmp_path: Path
) -> None:
    """Started before its upstreams, the gateway serves the routes it was built with
    (503 while the service is down, as a hand-kept route would); the scratch
    upstream's routes appear once it answers."""
    address = f"127.0.0.1:{free_port()}"
    settings = stack.settings.model_copy(
        update={"executor_address": address, "monitor_address": f"127.0.0.1:{free_port()}"}
    )
    async with (
        running_gateway(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10.0) as http,
    ):
        paused = await http.post("/api/v1/executors/pause")
        assert paused.status_code == 503
        assert set(paused.json()) == {"detail"}
        assert (await http.get("/api/v1/scratch/shelves/a/echo")).status_code == 404
        async with scratch_server(tmp_path, address):
            await until_answering(
                http, "/api/v1/scratch/shelves/a/echo", within=20, what="the scratch routes"
            )
