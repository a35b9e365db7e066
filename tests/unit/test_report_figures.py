"""The reports' pure arithmetic: months, growth, targets, shares and the assembly of sums."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.reports.domain import (
    InvalidMonthRange,
    add_months,
    attainment_bps,
    growth_bps,
    month_range,
    share_bps,
    target_of,
)
from marketplace.reports.domain.figures import SUMS, assemble

amounts = st.integers(min_value=0, max_value=10**15)


def test_month_ranges() -> None:
    assert month_range("2025-11", "2026-02") == [
        dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1),
    ]  # fmt: skip
    for first, last in [("2026-03", "2026-02"), ("2026-13", "2026-13"), ("26-01", "26-02")]:
        with pytest.raises(InvalidMonthRange):
            month_range(first, last)
    with pytest.raises(InvalidMonthRange):
        month_range("2020-01", "2023-01")  # 37 months


def test_growth_targets_and_shares_by_hand() -> None:
    assert growth_bps(130, 100) == 3000
    assert growth_bps(50, 100) == -5000
    assert growth_bps(1, 0) is None
    assert target_of(120_000, 3000) == 156_000
    assert attainment_bps(1_000_000, 120_000, 3000) == 64102
    assert attainment_bps(5, 0, 3000) is None
    assert share_bps(1, 3) == 3333
    assert share_bps(0, 0) is None


@given(st.integers(min_value=1900, max_value=2200), st.integers(1, 12), st.integers(-600, 600))
def test_adding_months_is_reversible(year: int, month: int, count: int) -> None:
    start = dt.date(year, month, 1)
    assert add_months(add_months(start, count), -count) == start
    moved = add_months(start, count)
    assert (moved.year * 12 + moved.month) - (year * 12 + month) == count


@given(amounts, amounts)
def test_a_share_is_within_the_whole(part: int, rest: int) -> None:
    whole = part + rest
    found = share_bps(part, whole)
    if whole == 0:
        assert found is None
    else:
        assert found is not None
        assert 0 <= found <= 10_000
        assert found * whole <= part * 10_000 < (found + 1) * whole


@given(amounts, st.integers(min_value=1, max_value=10**15), st.integers(0, 100_000))
def test_growth_and_attainment_agree_with_the_target(current: int, before: int, bps: int) -> None:
    growth = growth_bps(current, before)
    assert growth is not None
    assert growth * before <= (current - before) * 10_000 < (growth + 1) * before
    target = target_of(before, bps)
    assert target >= before
    attained = attainment_bps(current, before, bps)
    assert (attained is not None and attained >= 10_000) == (target > 0 and current >= target)


def _row(coop: uuid.UUID | None, month: dt.date | None, **sums: int) -> dict[str, object]:
    return {
        "coop": coop,
        "month": month,
        "in_period": month is None or month >= dt.date(2026, 3, 1),
        "all_coops": int(coop is None),
        "all_months": int(month is None),
        **sums,
    }


@given(st.lists(st.tuples(amounts, amounts), min_size=1, max_size=4))
def test_the_total_compares_with_the_sum_of_each_months_year_before(
    turnovers: list[tuple[int, int]],
) -> None:
    coop = uuid.uuid4()
    months = [add_months(dt.date(2026, 3, 1), i) for i in range(len(turnovers))]
    rows = []
    for month, (now, before) in zip(months, turnovers, strict=True):
        rows.append(_row(coop, month, turnover=now))
        rows.append(_row(coop, add_months(month, -12), turnover=before))
    rows.append(_row(coop, None, turnover=sum(now for now, _ in turnovers)))
    [one], _ = assemble(rows, months, [(coop, "KKMP", "35.76.01.1001")], 3000)
    assert [m.figures.previous_turnover for m in one.months] == [b for _, b in turnovers]
    assert one.total.turnover == sum(now for now, _ in turnovers)
    assert one.total.previous_turnover == sum(b for _, b in turnovers)
    assert one.total.growth_bps == growth_bps(one.total.turnover, one.total.previous_turnover)


def test_a_source_without_rows_reads_as_zero() -> None:
    coop = uuid.uuid4()
    [one], total = assemble([], [dt.date(2026, 3, 1)], [(coop, "KKMP", "35.76")], 3000)
    assert one.total.turnover == total.total.turnover == 0
    assert one.total.local_share_bps is None
    assert one.total.growth_bps is None
    assert set(SUMS) >= {"turnover", "buyers", "trade_levy"}
