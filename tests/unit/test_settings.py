"""Settings refuse combinations that cannot work, with a message that says why."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from taskflow.settings import Settings


def test_cluster_mode_needs_a_hash_tag_prefix() -> None:
    with pytest.raises(ValidationError, match="hash tag"):
        Settings(TASKFLOW_REDIS_CLUSTER=True)
    with pytest.raises(ValidationError, match="hash tag"):
        Settings(TASKFLOW_REDIS_CLUSTER=True, TASKFLOW_KEY_PREFIX="{}:")
    assert Settings(TASKFLOW_REDIS_CLUSTER=True, TASKFLOW_KEY_PREFIX="{tf}:").redis_cluster


def test_sentinels_are_a_comma_separated_host_port_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_SENTINELS", "10.0.0.1:26379, sentinel-b:26380,[::1]:26381")
    assert Settings().sentinel_addresses == [
        ("10.0.0.1", 26379),
        ("sentinel-b", 26380),
        ("::1", 26381),
    ]
    monkeypatch.setenv("REDIS_SENTINELS", "sentinel-a")
    with pytest.raises(ValidationError, match="not host:port"):
        Settings()


def test_redis_topologies_that_cannot_mix_are_refused() -> None:
    with pytest.raises(ValidationError, match="exclude each other"):
        Settings(REDIS_SENTINELS=["a:1"], TASKFLOW_REDIS_CLUSTER=True, TASKFLOW_KEY_PREFIX="{tf}:")
    with pytest.raises(ValidationError, match="not supported"):
        Settings(
            TASKFLOW_REDIS_REPLICA_ACKS=1, TASKFLOW_REDIS_CLUSTER=True, TASKFLOW_KEY_PREFIX="{tf}:"
        )


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ({"TASKFLOW_TLS_CERT_FILE": "server.pem"}, "go together"),
        ({"TASKFLOW_TLS_CLIENT_CA_FILE": "ca.pem"}, "needs TASKFLOW_TLS_CERT_FILE"),
        ({"TASKFLOW_TLS_CLIENT_KEY_FILE": "client.key"}, "go together"),
        (
            {"TASKFLOW_TLS_CLIENT_CERT_FILE": "c.pem", "TASKFLOW_TLS_CLIENT_KEY_FILE": "c.key"},
            "needs TASKFLOW_TLS_CA_FILE",
        ),
    ],
)
def test_tls_files_that_cannot_work_alone_are_refused(
    given: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Settings(**given)  # type: ignore[arg-type]
