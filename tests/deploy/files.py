"""Reading the deployment files as their engines would, without the engines.

docker compose fills in `${VAR:-default}` from the environment and .env before it
reads the YAML; `compose_document` does the same. Kubernetes manifests are plain
multi-document YAML.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from taskflow.cli import app as cli_app
from taskflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.37"
KUSTOMIZATION = "kustomization.yaml"

# Variables compose itself reads (not Settings); each is documented in .env.example.
COMPOSE_ONLY_VARIABLES = frozenset(
    {
        "WORKER_REPLICAS",
        "EXECUTOR_CPU_LIMIT",
        "EXECUTOR_MEMORY_LIMIT",
        "EXECUTOR_STOP_GRACE",
        "GATEWAY_PUBLISHED_PORT",
        "TASKFLOW_IMAGE",
    }
)
GRPC_SERVICES = {
    "scheduler": "TASKFLOW_SCHEDULER_ADDRESS",
    "executor": "TASKFLOW_EXECUTOR_ADDRESS",
    "monitor": "TASKFLOW_MONITOR_ADDRESS",
}
_VARIABLE = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}"
)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)")
_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def settings_aliases() -> set[str]:
    """Every environment variable the services read."""
    return {field.alias for field in Settings.model_fields.values() if field.alias}


def settings_default(alias: str) -> Any:
    """The default of the setting read from `alias`."""
    for field in Settings.model_fields.values():
        if field.alias == alias:
            return field.get_default(call_default_factory=True)
    raise KeyError(alias)


def compose_variables() -> list[tuple[str, str | None]]:
    """(name, default or None) of every ${...} in docker-compose.yml."""
    text = COMPOSE_FILE.read_text()
    return [(m["name"], m["default"] if m["op"] else None) for m in _VARIABLE.finditer(text)]


def interpolate(text: str, env: Mapping[str, str | None]) -> str:
    """Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}."""

    def value(match: re.Match[str]) -> str:
        name, op, default = match["name"], match["op"], match["default"]
        current = env.get(name)
        if current is not None and (current != "" or op != ":-"):
            return current
        if op in (":-", "-"):
            return str(default)
        raise KeyError(f"{name} is required by docker-compose.yml")

    return _VARIABLE.sub(value, text)


def compose_document(env: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """docker-compose.yml as compose reads it, with `env` (default: none set)."""
    document = yaml.safe_load(interpolate(COMPOSE_FILE.read_text(), env or {}))
    assert isinstance(document, dict)
    return document


def env_example() -> dict[str, str | None]:
    """The settings .env.example sets (commented-out lines excluded)."""
    return dict(dotenv_values(ENV_EXAMPLE))


def env_example_names() -> set[str]:
    """Every variable .env.example names, set or commented out."""
    pattern = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
    return set(pattern.findall(ENV_EXAMPLE.read_text()))


def seconds(duration: str | int | float) -> float:
    """A compose duration ('45s', '1m30s') or a plain number of seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    parts = _DURATION_PART.findall(duration)
    assert "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def host_of(address: str) -> str:
    return address.rsplit(":", 1)[0]


def kubernetes_documents() -> list[tuple[Path, dict[str, Any]]]:
    """Every resource of deploy/kubernetes/*.yaml, with the file it is in (the
    kustomization is kustomize's input, not a resource)."""
    found = []
    for path in sorted(KUBERNETES_DIR.glob("*.yaml")):
        if path.name == KUSTOMIZATION:
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path, document))
    return found


def kubernetes_resource(kind: str, name: str) -> dict[str, Any]:
    matches = [
        doc
        for _, doc in kubernetes_documents()
        if (doc["kind"], doc["metadata"]["name"]) == (kind, name)
    ]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def assert_runs_a_service(command: list[str]) -> str:
    """`command` starts a real service: `python -m <package with __main__>` or
    `taskflow <cli command>`. Returns the service module. Nothing is executed."""
    if command[:2] == ["python", "-m"]:
        module = command[2]
        assert importlib.util.find_spec(module) is not None, f"no module {module}"
        main = f"{module}.__main__"
        assert importlib.util.find_spec(main) is not None, f"{module} has no __main__"
        return module
    assert command[0] == "taskflow", f"unknown command {command}"
    names = {
        c.name or (c.callback.__name__ if c.callback else "") for c in cli_app.registered_commands
    }
    assert command[1] in names, f"`taskflow {command[1]}` is not a CLI command"
    module = f"services.{command[1]}"
    assert importlib.util.find_spec(f"{module}.__main__") is not None, f"{module} has no __main__"
    return module
