"""ListLimits: the store's view of every declared limit, as the proto says it."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import timestamp_pb2

from taskflow.store.limits import LimitUse
from taskflow.v1 import monitor_service_pb2 as pb


def limits_response(uses: list[LimitUse]) -> pb.ListLimitsResponse:
    return pb.ListLimitsResponse(limits=[_use(use) for use in uses])


def _use(use: LimitUse) -> pb.TypeLimitUse:
    declared = use.limits
    message = pb.TypeLimitUse(
        task_type=use.task_type,
        rate_limit=declared.rate,
        rate_tokens=use.tokens,
        rate_capacity=use.capacity,
        rate_interval_ms=use.interval_ms,
        concurrency_limit=declared.concurrency,
        concurrency_key=declared.concurrency_key,
        slots=[
            pb.ConcurrencySlots(key_value=s.value, used=s.used, limit=declared.concurrency)
            for s in use.slots
        ],
        held_back=use.held_back,
        held_by_rate_total=use.held_rate,
        held_by_concurrency_total=use.held_concurrency,
        declared_by=use.source,
    )
    if use.updated_at:
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(datetime.fromisoformat(use.updated_at))
        message.declared_at.CopyFrom(stamp)
    return message
