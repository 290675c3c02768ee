"""What task metadata may hold, checked the same way by the gateway (a 422) and the
scheduler (INVALID_ARGUMENT), so no entry point stores a task other clients cannot
read back.

Metadata travels as a protobuf Struct, and decoders refuse messages nested past a
depth limit (upb's is 100 messages; each JSON level costs two, a Value and a Struct
or list, and a reply wraps the task in two more). A task stored with deeper metadata
would break every listing page that includes it. JSON has no NaN or infinities, but
Python's parser accepts them and a Struct would carry them.
"""

from __future__ import annotations

import math
from typing import Any

MAX_METADATA_DEPTH = 32
# The other per-task limits both edges state: the gateway in /openapi.json (a 422
# before any call), the scheduler for every gRPC client.
MAX_RETRIES_CEILING = 100
MAX_IDEMPOTENCY_KEY = 200


def check_metadata(metadata: Any) -> None:
    """ValueError naming the problem when `metadata` nests deeper than
    MAX_METADATA_DEPTH levels or holds a number that is not finite."""
    _check(metadata, depth=0)


def _check(value: Any, depth: int) -> None:
    if depth > MAX_METADATA_DEPTH:
        raise ValueError(f"metadata nests deeper than {MAX_METADATA_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("metadata numbers must be finite")
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for child in value:
            _check(child, depth + 1)
