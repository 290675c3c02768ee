"""deploy/kubernetes/ validates against the Kubernetes OpenAPI schemas (and KEDA's
CRD model), and its commands, settings, probes and ports match the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.keda.v1alpha1 import ScaledObject

from services.executor.app import CHILD_EXIT_MARGIN_S
from taskflow.store import Keys
from tests.deploy.files import (
    GRPC_SERVICES,
    KUBERNETES_DIR,
    KUBERNETES_VERSION,
    KUSTOMIZATION,
    assert_runs_a_service,
    kubernetes_documents,
    kubernetes_resource,
    port_of,
    settings_aliases,
    settings_default,
)

# KEDA's CRD, not part of the Kubernetes API: checked against KEDA's model below.
NOT_CORE_KINDS = {"ScaledObject"}
SERVICES = ("scheduler", "executor", "monitor", "gateway")
EXECUTOR_STOP_MARGIN_S = CHILD_EXIT_MARGIN_S + 5


def resource_id(item: tuple[Path, dict[str, Any]]) -> str:
    path, document = item
    return f"{path.name}:{document['kind']}/{document['metadata']['name']}"


def container(name: str) -> dict[str, Any]:
    pod = kubernetes_resource("Deployment", name)["spec"]["template"]["spec"]
    (only,) = pod["containers"]
    assert isinstance(only, dict)
    return only


def config() -> dict[str, str]:
    data: dict[str, str] = kubernetes_resource("ConfigMap", "taskflow-config")["data"]
    return data


def container_env(name: str) -> dict[str, str]:
    """What the container sees: the ConfigMap, overridden by its own `env`."""
    own = {item["name"]: item["value"] for item in container(name).get("env", [])}
    return config() | own


@pytest.mark.parametrize(
    "item",
    [item for item in kubernetes_documents() if item[1]["kind"] not in NOT_CORE_KINDS],
    ids=resource_id,
)
def test_manifest_follows_the_kubernetes_openapi_schema(item: tuple[Path, dict[str, Any]]) -> None:
    kubernetes_validate.validate(item[1], KUBERNETES_VERSION, strict=True)


def test_scaled_object_follows_the_keda_crd() -> None:
    document = kubernetes_resource("ScaledObject", "executor")
    model = ScaledObject.model_validate(document)
    # The model ignores unknown fields; a round trip shows there were none.
    assert model.model_dump(by_alias=True, exclude_unset=True, mode="json") == document


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBERNETES_DIR / KUSTOMIZATION).read_text())
    manifests = {p.name for p in KUBERNETES_DIR.glob("*.yaml")} - {KUSTOMIZATION}
    assert set(kustomization["resources"]) == manifests
    assert (
        kustomization["namespace"]
        == kubernetes_resource("Namespace", "taskflow")["metadata"]["name"]
    )


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_its_module_from_the_shared_config(name: str) -> None:
    spec = container(name)
    assert assert_runs_a_service(spec["command"]) == f"services.{name}"
    sources = [next(iter(source.values()))["name"] for source in spec["envFrom"]]
    assert sources == ["taskflow-config", "taskflow-secrets"]
    pod = kubernetes_resource("Deployment", name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_config_and_secret_hold_only_settings() -> None:
    secret = kubernetes_resource("Secret", "taskflow-secrets")["stringData"]
    assert set(config()) | set(secret) <= settings_aliases()
    for name in SERVICES:
        assert {item["name"] for item in container(name).get("env", [])} <= settings_aliases()


@pytest.mark.parametrize(("name", "alias"), sorted(GRPC_SERVICES.items()))
def test_grpc_services_listen_probe_and_are_found_on_one_port(name: str, alias: str) -> None:
    port = port_of(settings_default(alias))
    spec = container(name)
    assert container_env(name)[alias] == f"0.0.0.0:{port}"
    assert [p["containerPort"] for p in spec["ports"]] == [port]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert spec[probe]["grpc"] == {"port": port}, f"{name} {probe}"
    service = kubernetes_resource("Service", name)["spec"]
    assert [p["port"] for p in service["ports"]] == [port]
    for other in SERVICES:
        if other != name:
            assert container_env(other)[alias] == f"{name}:{port}"


def test_gateway_probes_live_and_ready_on_its_port() -> None:
    spec = container("gateway")
    env = container_env("gateway")
    port = settings_default("TASKFLOW_GATEWAY_PORT")
    assert (env["TASKFLOW_GATEWAY_HOST"], int(env["TASKFLOW_GATEWAY_PORT"])) == ("0.0.0.0", port)
    assert spec["ports"] == [{"name": "http", "containerPort": port}]
    assert spec["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert spec["livenessProbe"]["httpGet"] == {"path": "/live", "port": "http"}
    assert spec["startupProbe"]["httpGet"] == {"path": "/live", "port": "http"}


@pytest.mark.parametrize("name", [*SERVICES, "redis"])
def test_services_select_their_pods_on_named_ports(name: str) -> None:
    kind = "StatefulSet" if name == "redis" else "Deployment"
    workload = kubernetes_resource(kind, name)
    labels = workload["spec"]["template"]["metadata"]["labels"]
    service = kubernetes_resource("Service", name)["spec"]
    assert service["selector"].items() <= labels.items()
    assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (pod_container,) = workload["spec"]["template"]["spec"]["containers"]
    named = {p["name"] for p in pod_container["ports"]}
    assert {p["targetPort"] for p in service["ports"]} <= named


@pytest.mark.parametrize("name", SERVICES)
def test_disruption_budgets_cover_each_service(name: str) -> None:
    budget = kubernetes_resource("PodDisruptionBudget", name)["spec"]
    labels = kubernetes_resource("Deployment", name)["spec"]["template"]["metadata"]["labels"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    replicas = kubernetes_resource("Deployment", name)["spec"]["replicas"]
    assert budget.get("minAvailable", 0) < replicas, "a budget that blocks every drain"


def test_executor_termination_grace_covers_its_drain() -> None:
    pod = kubernetes_resource("Deployment", "executor")["spec"]["template"]["spec"]
    grace = float(container_env("executor")["TASKFLOW_SHUTDOWN_GRACE"])
    assert grace == settings_default("TASKFLOW_SHUTDOWN_GRACE")
    assert pod["terminationGracePeriodSeconds"] >= grace + EXECUTOR_STOP_MARGIN_S


def test_keda_scales_the_executors_on_both_pending_lists() -> None:
    scaled = kubernetes_resource("ScaledObject", "executor")["spec"]
    assert (
        scaled["scaleTargetRef"]["name"]
        == kubernetes_resource("Deployment", "executor")["metadata"]["name"]
    )
    assert scaled["minReplicaCount"] >= 1, "ExecutorService must stay up for the gateway"
    keys = Keys(config().get("TASKFLOW_KEY_PREFIX", settings_default("TASKFLOW_KEY_PREFIX")))
    triggers = scaled["triggers"]
    assert {t["metadata"]["listName"] for t in triggers} == {keys.primary, keys.retry}
    redis_url = config()["REDIS_URL"]
    redis_service = kubernetes_resource("Service", "redis")
    redis_port = redis_service["spec"]["ports"][0]["port"]
    assert redis_url == f"redis://redis:{redis_port}/0"
    namespace = kubernetes_resource("Namespace", "taskflow")["metadata"]["name"]
    for trigger in triggers:
        assert trigger["type"] == "redis"
        metadata = trigger["metadata"]
        assert metadata["address"] == f"redis.{namespace}.svc.cluster.local:{redis_port}"
        assert metadata["databaseIndex"] == "0"
        assert int(metadata["listLength"]) >= 1


def test_redis_keeps_an_append_only_file_on_a_volume() -> None:
    redis = kubernetes_resource("StatefulSet", "redis")["spec"]
    (spec,) = redis["template"]["spec"]["containers"]
    assert spec["args"][spec["args"].index("--appendonly") + 1] == "yes"
    claims = {claim["metadata"]["name"] for claim in redis["volumeClaimTemplates"]}
    assert {mount["name"] for mount in spec["volumeMounts"]} <= claims
    assert {mount["mountPath"] for mount in spec["volumeMounts"]} == {"/data"}
