"""deploy/prometheus (scrape config, alert rules and their promtool unit tests) and
deploy/grafana (the dashboard): every metric they name is one a service exports,
and every rule fires when and only when its unit tests say (promtool, from Debian's
`prometheus` package; `make test` installs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from services.executor.metrics import ExecutorMetrics
from services.gateway.metrics import GatewayMetrics
from services.monitor.hub import WatchHub
from services.monitor.metrics import MonitorMetrics
from services.scheduler.metrics import SchedulerMetrics
from taskflow.store import Keys

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "asynctaskflow-dashboard.json"
METRIC_NAME = re.compile(r"\btaskflow_[a-z_]+\b")
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
}


def exported_names() -> set[str]:
    """Every series name the services' registries can produce."""
    hub = WatchHub(Redis(), Keys())  # never started: only its count is read
    registries: list[CollectorRegistry] = [
        ExecutorMetrics().registry,
        SchedulerMetrics().registry,
        MonitorMetrics(hub).registry,
        GatewayMetrics().registry,
    ]
    names = set()
    for registry in registries:
        for family in registry.collect():
            names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


def rule_file() -> dict[str, list[dict[str, object]]]:
    loaded = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_rules_and_dashboard_name_only_exported_metrics() -> None:
    exported = exported_names()
    rules = [rule for group in rule_file()["groups"] for rule in group["rules"]]  # type: ignore[attr-defined]
    named = {name for rule in rules for name in METRIC_NAME.findall(str(rule["expr"]))} | {
        name for expr in dashboard_exprs() for name in METRIC_NAME.findall(expr)
    }
    assert named, "no metric found in the rules or the dashboard"
    assert named <= exported, f"not exported by any service: {sorted(named - exported)}"


def test_the_four_alerts_exist_each_with_a_severity_and_summary() -> None:
    rules = {rule["alert"]: rule for group in rule_file()["groups"] for rule in group["rules"]}  # type: ignore[attr-defined]
    for alert in (
        "TaskflowDlqGrowing",
        "TaskflowCircuitBreakerOpen",
        "TaskflowNoWorkerHeartbeat",
        "TaskflowQueueAgeHigh",
    ):
        assert rules[alert]["labels"]["severity"] in {"warning", "critical"}
        assert rules[alert]["annotations"]["summary"]
    assert len(json.loads(DASHBOARD.read_text())["panels"]) >= 10


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool missing: make test installs it"
)
def test_promtool_checks_the_config_and_every_rule_fires_as_its_cases_say() -> None:
    for args in (
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ):
        ran = subprocess.run(
            ["promtool", *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
