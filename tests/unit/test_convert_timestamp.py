"""convert.timestamp builds a proto Timestamp from the exact difference to the
epoch: the same message FromDatetime gives, for aware, offset, naive and pre-1970
datetimes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from google.protobuf import timestamp_pb2

from taskflow.rpc.convert import timestamp


def reference(moment: datetime) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(moment.astimezone(UTC))
    return message


def test_none_stays_unset() -> None:
    assert timestamp(None) is None


def test_same_message_as_from_datetime() -> None:
    picks = random.Random(19)
    start = datetime(1901, 1, 1, tzinfo=UTC)
    for i in range(5000):
        moment = start + timedelta(microseconds=picks.randrange(0, 5 * 10**15))
        if i % 3 == 0:
            moment = moment.astimezone(timezone(timedelta(minutes=picks.randrange(-720, 721))))
        if i % 5 == 0:
            moment = moment.replace(tzinfo=None)  # naive: read as local time
        assert timestamp(moment) == reference(moment), moment


def test_before_the_epoch_nanos_stay_positive() -> None:
    message = timestamp(datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC))
    assert message is not None
    assert (message.seconds, message.nanos) == (-1, 500_000_000)
