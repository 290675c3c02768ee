"""docker-compose.yml is a valid Compose file whose commands, settings, ports and
healthchecks all exist in the code (no Docker engine needed)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from services.executor.app import CHILD_EXIT_MARGIN_S
from tests.deploy.files import (
    COMPOSE_ONLY_VARIABLES,
    GRPC_SERVICES,
    assert_runs_a_service,
    compose_document,
    compose_variables,
    env_example,
    host_of,
    port_of,
    seconds,
    settings_aliases,
    settings_default,
)

# The executor needs its grace to drain, CHILD_EXIT_MARGIN_S for its worker
# processes to hand back and exit, and a few seconds to close; SIGKILL must wait.
EXECUTOR_STOP_MARGIN_S = CHILD_EXIT_MARGIN_S + 5
TASKFLOW_SERVICES = ("scheduler", "executor", "monitor", "gateway")


def compose_schema() -> dict[str, Any]:
    """The Compose Specification schema, as vendored by check-jsonschema."""
    vendored = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema: dict[str, Any] = json.loads(vendored.read_text())
    return schema


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return compose_document()


def environment(compose: dict[str, Any], service: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose["services"][service]["environment"].items()}


@pytest.mark.parametrize("env_source", ["defaults", ".env.example"])
def test_compose_file_follows_the_compose_specification(env_source: str) -> None:
    env = env_example() if env_source == ".env.example" else {}
    validator = jsonschema.Draft202012Validator(compose_schema())
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(compose_document(env))
    ]
    assert errors == []


def test_every_variable_has_a_default_and_is_a_known_setting() -> None:
    for name, default in compose_variables():
        assert default is not None, f"${{{name}}} needs a default so compose runs without .env"
        assert name in settings_aliases() | COMPOSE_ONLY_VARIABLES, name


def test_the_services_run_the_real_service_modules(compose: dict[str, Any]) -> None:
    for name in TASKFLOW_SERVICES:
        assert assert_runs_a_service(compose["services"][name]["command"]) == f"services.{name}"


def test_the_services_set_only_settings(compose: dict[str, Any]) -> None:
    for name in TASKFLOW_SERVICES:
        unknown = set(environment(compose, name)) - settings_aliases()
        assert not unknown, f"{name} sets variables no Settings field reads: {unknown}"


def test_every_grpc_service_listens_where_the_others_look_for_it(compose: dict[str, Any]) -> None:
    gateway_env = environment(compose, "gateway")
    for name, alias in GRPC_SERVICES.items():
        own = environment(compose, name)[alias]
        default_port = port_of(settings_default(alias))
        assert own == f"0.0.0.0:{default_port}", f"{name} must listen on all interfaces"
        assert [str(p) for p in compose["services"][name]["expose"]] == [str(default_port)]
        assert gateway_env[alias] == f"{name}:{default_port}"
        for other in TASKFLOW_SERVICES:
            if other != name:
                assert environment(compose, other)[alias] == f"{name}:{default_port}"


def test_the_gateway_is_published_on_its_port(compose: dict[str, Any]) -> None:
    env = environment(compose, "gateway")
    port = settings_default("TASKFLOW_GATEWAY_PORT")
    assert env["TASKFLOW_GATEWAY_HOST"] == "0.0.0.0"
    assert int(env["TASKFLOW_GATEWAY_PORT"]) == port
    assert compose["services"]["gateway"]["ports"] == [f"{port}:{port}"]


def test_every_service_shares_the_compose_redis(compose: dict[str, Any]) -> None:
    for name in TASKFLOW_SERVICES:
        assert environment(compose, name)["REDIS_URL"] == "redis://redis:6379/0"
    redis = compose["services"]["redis"]
    assert "--appendonly" in redis["command"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert redis["volumes"] == ["redis-data:/data"]
    assert "redis-data" in compose["volumes"]


def test_grpc_healthchecks_probe_each_service_port(compose: dict[str, Any]) -> None:
    for name, alias in GRPC_SERVICES.items():
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"]
        assert "grpc_health.v1" in test[3]
        assert host_of(test[4]) == "127.0.0.1"
        assert port_of(test[4]) == port_of(settings_default(alias))


def test_gateway_healthcheck_asks_ready(compose: dict[str, Any]) -> None:
    test = compose["services"]["gateway"]["healthcheck"]["test"]
    port = settings_default("TASKFLOW_GATEWAY_PORT")
    assert test[:3] == ["CMD", "python", "-c"]
    assert f"'http://127.0.0.1:{port}/ready'" in test[3]


def test_services_start_after_what_they_need_is_healthy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in GRPC_SERVICES:
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert services["gateway"]["depends_on"] == {
        name: {"condition": "service_healthy"} for name in GRPC_SERVICES
    }
    for name in ("redis", *TASKFLOW_SERVICES):
        assert "healthcheck" in services[name], name


def test_executor_replicas_and_limits_come_from_the_environment() -> None:
    env = {
        "WORKER_REPLICAS": "5",
        "EXECUTOR_CPU_LIMIT": "1.5",
        "EXECUTOR_MEMORY_LIMIT": "3g",
        "TASKFLOW_SHUTDOWN_GRACE": "40",
        "EXECUTOR_STOP_GRACE": "1m",
    }
    executor = compose_document(env)["services"]["executor"]
    assert executor["deploy"]["replicas"] == 5
    assert executor["deploy"]["resources"]["limits"] == {"cpus": "1.5", "memory": "3g"}
    assert executor["environment"]["TASKFLOW_SHUTDOWN_GRACE"] == 40
    assert executor["stop_grace_period"] == "1m"


@pytest.mark.parametrize("env_source", ["defaults", ".env.example"])
def test_compose_lets_the_executor_drain_before_killing_it(env_source: str) -> None:
    env = env_example() if env_source == ".env.example" else {}
    executor = compose_document(env)["services"]["executor"]
    grace = float(executor["environment"]["TASKFLOW_SHUTDOWN_GRACE"])
    assert grace == float(
        env.get("TASKFLOW_SHUTDOWN_GRACE") or settings_default("TASKFLOW_SHUTDOWN_GRACE")
    )
    assert seconds(executor["stop_grace_period"]) >= grace + EXECUTOR_STOP_MARGIN_S
