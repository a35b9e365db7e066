from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace import clock

moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


def test_0100_wib_on_monday_is_monday_in_jakarta_and_sunday_in_utc() -> None:
    moment = dt.datetime(2026, 12, 6, 18, 0, tzinfo=dt.UTC)
    assert clock.local_date(moment, "Asia/Jakarta") == dt.date(2026, 12, 7)
    assert clock.local_date(moment, "UTC") == dt.date(2026, 12, 6)
    assert clock.local_date(moment, "Asia/Jayapura") == dt.date(2026, 12, 7)  # WIT, UTC+9
    assert clock.local_date(moment - dt.timedelta(hours=1, seconds=1), "Asia/Jakarta") == dt.date(
        2026, 12, 6
    )


@given(moments)
def test_jakarta_is_utc_plus_seven_all_year(moment: dt.datetime) -> None:
    # No daylight saving in Indonesia: the date is always the UTC date 7 hours on.
    assert clock.local_date(moment, "Asia/Jakarta") == (moment + dt.timedelta(hours=7)).date()


@given(moments, st.sampled_from(["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "UTC"]))
def test_frozen_clock_gives_that_moments_local_date(moment: dt.datetime, zone: str) -> None:
    later = moment + dt.timedelta(hours=12)
    with clock.frozen_at(moment):
        assert clock.now() == moment
        assert clock.today_in(zone) == clock.local_date(moment, zone)
        with clock.frozen_at(later):
            assert clock.now() == later
        assert clock.now() == moment  # the outer freeze is back


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.local_date(dt.datetime(2026, 12, 7, 1, 0), "Asia/Jakarta")
    with (
        pytest.raises(ValueError, match="timezone-aware"),
        clock.frozen_at(dt.datetime(2026, 1, 1)),
    ):
        pass
