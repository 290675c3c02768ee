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
