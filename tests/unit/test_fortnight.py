"""The two-weekly report's pure rules: its range, its shares, the 15-supplier rule."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.orders.domain import fortnight


def test_a_range_is_ordered_and_at_most_31_days() -> None:
    day = dt.date(2026, 3, 2)
    assert fortnight.report_range(day, day) == (day, day)
    assert fortnight.report_range(day, day + dt.timedelta(days=30))[1] == dt.date(2026, 4, 1)
    for end in (day - dt.timedelta(days=1), day + dt.timedelta(days=31)):
        with pytest.raises(fortnight.InvalidReportRange):
            fortnight.report_range(day, end)


def test_the_supplier_rule_and_the_city() -> None:
    assert fortnight.suppliers_missing(4) == 11
    assert fortnight.suppliers_missing(15) == 0
    assert fortnight.suppliers_missing(40) == 0
    assert fortnight.city_of("35.76.02.1005") == "35.76"
    assert fortnight.share_tenths(1, 3) == 333
    assert fortnight.share_tenths(2, 3) == 667
    assert fortnight.share_tenths(1, 8) == 125  # 12.5 % exactly
    assert fortnight.share_tenths(1, 2000) == 1  # 0.05 % rounds half up
    assert fortnight.share_tenths(0, 0) == 0


@given(st.integers(0, 10**12), st.integers(1, 10**12))
def test_a_share_is_the_exact_fraction_rounded_half_up(part: int, extra: int) -> None:
    whole = part + extra - 1 if part + extra - 1 > 0 else 1
    part = min(part, whole)
    share = fortnight.share_tenths(part, whole)
    exact = Fraction(part * 1000, whole)
    assert share - Fraction(1, 2) <= exact < share + Fraction(1, 2)
    assert 0 <= share <= 1000


@given(st.dates(), st.integers(-100, 100))
def test_a_range_is_accepted_exactly_when_it_is_1_to_31_days(start: dt.date, span: int) -> None:
    try:
        end = start + dt.timedelta(days=span)
    except OverflowError:
        return
    if 0 <= span <= 30:
        assert fortnight.report_range(start, end) == (start, end)
    else:
        with pytest.raises(fortnight.InvalidReportRange):
            fortnight.report_range(start, end)
