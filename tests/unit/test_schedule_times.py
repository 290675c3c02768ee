"""Fire times from croniter and intervals, DST transitions included."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from taskflow.errors import InvalidInput
from taskflow.schedule_times import check_cron, check_interval, next_fire_ms, zone

BERLIN = ZoneInfo("Europe/Berlin")


def fires(cron: str, start: datetime, count: int) -> list[datetime]:
    out, after = [], int(start.timestamp() * 1000)
    for _ in range(count):
        after = next_fire_ms(
            cron=cron, time_zone="Europe/Berlin", interval_ms=0, anchor_ms=0, after_ms=after
        )
        out.append(datetime.fromtimestamp(after / 1000, BERLIN))
    return out


def test_a_local_time_skipped_in_spring_fires_at_the_first_valid_time_after_it() -> None:
    # 2026-03-29: Berlin clocks go from 02:00 to 03:00; 02:30 does not exist that day.
    got = fires("30 2 * * *", datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN), 3)
    assert [(t.day, t.hour, t.minute) for t in got] == [(29, 3, 0), (30, 2, 30), (31, 2, 30)]
    assert [t.utcoffset().total_seconds() / 3600 for t in got] == [2, 2, 2]  # type: ignore[union-attr]


def test_a_local_time_repeated_in_autumn_fires_in_each_pass_strictly_later() -> None:
    # 2026-10-25: Berlin clocks go from 03:00 back to 02:00; 02:00-02:59 happens twice.
    got = fires("*/30 2 * * *", datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN), 4)
    stamps = [t.timestamp() for t in got]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 4
    assert [(t.hour, t.minute, t.utcoffset().total_seconds() / 3600) for t in got] == [  # type: ignore[union-attr]
        (2, 0, 2),
        (2, 30, 2),
        (2, 0, 1),
        (2, 30, 1),
    ]


def test_six_fields_put_seconds_first() -> None:
    start = datetime(2026, 1, 1, 0, 0, 1, tzinfo=ZoneInfo("UTC"))
    after = int(start.timestamp() * 1000)
    got = next_fire_ms(
        cron="*/10 * * * * *", time_zone="", interval_ms=0, anchor_ms=0, after_ms=after
    )
    assert got - after == 9000


def test_an_interval_fires_on_its_grid_from_the_anchor() -> None:
    assert next_fire_ms(cron="", time_zone="", interval_ms=1000, anchor_ms=5000, after_ms=0) == 5000
    assert (
        next_fire_ms(cron="", time_zone="", interval_ms=1000, anchor_ms=5000, after_ms=5000) == 6000
    )
    assert (
        next_fire_ms(cron="", time_zone="", interval_ms=1000, anchor_ms=5000, after_ms=7400) == 8000
    )


@pytest.mark.parametrize("cron", ["", "* * *", "61 * * * *", "* * * * * * *", "hello world * * *"])
def test_bad_cron_is_invalid_input(cron: str) -> None:
    with pytest.raises(InvalidInput, match="cron"):
        check_cron(cron)


def test_unknown_zone_and_zero_interval_are_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="time_zone"):
        zone("Mars/Olympus_Mons")
    with pytest.raises(InvalidInput, match="interval"):
        check_interval(0)
    assert zone("") == ZoneInfo("UTC")
