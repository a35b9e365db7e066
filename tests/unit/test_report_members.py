"""Members against the programme's target: a count is a stock, summed over cooperatives,
set against a year before; none where nothing was recorded."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.reports.domain.members import (
    MemberCountInFuture,
    check_month,
    count_at,
    members_of,
    month_members,
)

A, B = uuid.uuid4(), uuid.uuid4()
MARCH = dt.date(2026, 3, 1)
A_YEAR_BEFORE = dt.date(2025, 3, 1)


def test_members_against_a_year_before_and_the_target() -> None:
    counts = {(A, MARCH): 130, (A, A_YEAR_BEFORE): 100, (B, MARCH): 40}
    one = month_members(counts, [A], MARCH, 2000)
    assert (one.members, one.previous_members, one.members_growth_bps) == (130, 100, 3000)
    assert (one.target_members, one.members_target_attainment_bps) == (120, 10_833)
    # B has no count a year before: no growth, no target.
    other = month_members(counts, [B], MARCH, 2000)
    assert (other.members, other.previous_members, other.members_growth_bps) == (40, None, None)
    assert other.target_members is None
    # All: the sum of those that recorded a count.
    both = month_members(counts, [A, B], MARCH, 2000)
    assert (both.members, both.previous_members) == (170, 100)
    assert month_members({}, [A, B], MARCH, 2000).members is None


def test_a_count_is_recorded_for_this_month_or_one_before() -> None:
    check_month(MARCH, MARCH)
    check_month(A_YEAR_BEFORE, MARCH)
    with pytest.raises(MemberCountInFuture):
        check_month(dt.date(2026, 4, 1), MARCH)


@given(
    st.dictionaries(st.uuids(), st.integers(min_value=0, max_value=10_000_000), max_size=8),
    st.integers(min_value=0, max_value=100_000),
)
def test_the_whole_is_the_sum_of_the_parts(members: dict[uuid.UUID, int], target_bps: int) -> None:
    counts = {(c, MARCH): n for c, n in members.items()}
    whole = count_at(counts, list(members), MARCH)
    assert whole == (sum(members.values()) if members else None)


@given(
    st.integers(min_value=0, max_value=10_000_000),
    st.integers(min_value=1, max_value=10_000_000),
    st.integers(min_value=0, max_value=100_000),
)
def test_growth_and_attainment_agree(current: int, before: int, target_bps: int) -> None:
    found = members_of(current, before, target_bps)
    assert found.members_growth_bps is not None
    assert (found.members_growth_bps >= 0) == (current >= before)
    assert found.target_members == before * (10_000 + target_bps) // 10_000
    if found.members_target_attainment_bps is not None:
        on_target = current >= (found.target_members or 0)
        assert (found.members_target_attainment_bps >= 10_000) == on_target
