"""Members of the cooperatives against the programme's target (Kota Mojokerto: +20 % a
year). Pure.

A cooperative records how many members it has, month by month (its own register; no other
context knows its members: the people who sign in are its staff). A month's count is the
one last recorded for it or a month before (a count stands until the next is recorded),
none before the first. A count is a stock, not a flow: the period's is its last month's,
and all cooperatives' is the sum of those that recorded one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping

import msgspec

from marketplace.errors import ValidationFailed
from marketplace.reports.domain import add_months, attainment_bps, growth_bps, target_of

MAX_MEMBERS = 10_000_000


class MemberCountInFuture(ValidationFailed):
    code = "reports.member_count_in_future"
    title = "A member count is recorded for this month or one before it"


class Members(msgspec.Struct, frozen=True, kw_only=True):
    """Members at a month's end (or the period's last month), a year before, and the
    growth against the office's members target; None where no count was recorded."""

    members: int | None
    previous_members: int | None
    members_growth_bps: int | None
    target_members: int | None
    members_target_attainment_bps: int | None


def members_of(current: int | None, before: int | None, target_bps: int) -> Members:
    if current is None or before is None:
        return Members(
            members=current,
            previous_members=before,
            members_growth_bps=None,
            target_members=None,
            members_target_attainment_bps=None,
        )
    return Members(
        members=current,
        previous_members=before,
        members_growth_bps=growth_bps(current, before),
        target_members=target_of(before, target_bps),
        members_target_attainment_bps=attainment_bps(current, before, target_bps),
    )


Counts = Mapping[tuple[uuid.UUID, dt.date], int]


def count_at(counts: Counts, coops: Iterable[uuid.UUID | None], month: dt.date) -> int | None:
    """The count of a cooperative (None: of all) at `month`: summed over those with one."""
    known = [counts[(c, month)] for c in coops if c is not None and (c, month) in counts]
    return sum(known) if known else None


def month_members(
    counts: Counts, coops: list[uuid.UUID], month: dt.date, target_bps: int
) -> Members:
    return members_of(
        count_at(counts, coops, month), count_at(counts, coops, add_months(month, -12)), target_bps
    )


def check_month(month: dt.date, this_month: dt.date) -> None:
    if month > this_month:
        raise MemberCountInFuture(
            "A member count is recorded for this month or one before it.",
            month=f"{month.year:04d}-{month.month:02d}",
        )


__all__ = [
    "MAX_MEMBERS",
    "MemberCountInFuture",
    "Members",
    "check_month",
    "count_at",
    "members_of",
    "month_members",
]
