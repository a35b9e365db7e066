"""The report assembled from grouped sums: growth, targets and shares per cooperative and
month, and in total. Pure: the sums come in as plain values, the figures go out as Structs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from marketplace.reports.domain import add_months, attainment_bps, growth_bps, share_bps, target_of
from marketplace.reports.domain.members import Counts, Members, month_members

SUMS = (
    "turnover", "to_kitchens", "to_stalls", "to_government", "to_others",
    "consignment_sales", "buyers", "consignors", "consignor_earnings", "consigned_supply",
    "local_consigned_supply", "bulog_purchases", "local_bulog_purchases", "trade_quantity",
    "trade_amount", "trade_levy",
)  # fmt: skip


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """One cooperative's (or all of them together) figures of one month or of the period."""

    turnover: int
    to_kitchens: int
    to_stalls: int
    to_government: int
    to_others: int
    consignment_sales: int
    buyers: int
    consignors: int
    consignor_earnings: int
    bulog_purchases: int
    supply: int
    local_supply: int
    local_share_bps: int | None
    trade_quantity: int
    trade_amount: int
    trade_levy: int
    previous_turnover: int
    growth_bps: int | None
    target_turnover: int
    target_attainment_bps: int | None


class MonthFigures(msgspec.Struct, frozen=True, kw_only=True):
    month: str
    figures: Figures
    members: Members


class CooperativeFigures(msgspec.Struct, frozen=True, kw_only=True):
    cooperative_id: uuid.UUID | None
    name: str
    region_code: str
    months: list[MonthFigures]
    total: Figures
    members: Members
    """At the period's last month, against a year before it."""


def month_label(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def figures(current: Mapping[str, int], before: int, target_bps: int) -> Figures:
    """The figures of sums `current`, against `before` (the turnover a year before)."""
    supply = current["consigned_supply"] + current["bulog_purchases"]
    local = current["local_consigned_supply"] + current["local_bulog_purchases"]
    turnover = current["turnover"]
    return Figures(
        **{k: current[k] for k in SUMS if k not in _SUPPLY_PARTS},
        supply=supply,
        local_supply=local,
        local_share_bps=share_bps(local, supply),
        previous_turnover=before,
        growth_bps=growth_bps(turnover, before),
        target_turnover=target_of(before, target_bps),
        target_attainment_bps=attainment_bps(turnover, before, target_bps),
    )


_SUPPLY_PARTS = {"consigned_supply", "local_consigned_supply", "local_bulog_purchases"}
_ZERO = dict.fromkeys(SUMS, 0)
Key = tuple[uuid.UUID | None, dt.date | bool]


def sums_by_key(rows: Iterable[Mapping[str, Any]]) -> dict[Key, dict[str, int]]:
    """Grouped rows of every source → (cooperative or None for all, month, or True for the
    period asked for) → every sum (0 where a source had no row)."""
    found: dict[Key, dict[str, int]] = {}
    for row in rows:
        coop = None if row["all_coops"] else row["coop"]
        if row["all_months"] and not row["in_period"]:
            continue  # the months before the period count only month by month
        when: dt.date | bool = True if row["all_months"] else row["month"]
        into = found.setdefault((coop, when), dict(_ZERO))
        for name in SUMS:
            if name in row:
                into[name] += int(row[name])
    return found


def assemble(
    rows: Iterable[Mapping[str, Any]],
    months: list[dt.date],
    cooperatives: list[tuple[uuid.UUID, str, str]],
    target_bps: int,
    *,
    total_name: str = "",
    total_region: str = "",
    members: Counts | None = None,
    members_target_bps: int = 0,
) -> tuple[list[CooperativeFigures], CooperativeFigures]:
    """`members`: each cooperative's count at each month (and twelve before), if known."""
    sums = sums_by_key(rows)
    counts = members or {}
    everyone = [c for c, _n, _r in cooperatives]

    def of(coop: uuid.UUID | None, name: str, region: str) -> CooperativeFigures:
        before = [sums.get((coop, add_months(m, -12)), _ZERO)["turnover"] for m in months]
        whose = everyone if coop is None else [coop]
        per_month = [
            MonthFigures(
                month=month_label(m),
                figures=figures(sums.get((coop, m), _ZERO), b, target_bps),
                members=month_members(counts, whose, m, members_target_bps),
            )
            for m, b in zip(months, before, strict=True)
        ]
        # The year before the period is the sum of each month's year before (a period
        # longer than a year overlaps its own year before).
        total = figures(sums.get((coop, True), _ZERO), sum(before), target_bps)
        return CooperativeFigures(
            cooperative_id=coop,
            name=name,
            region_code=region,
            months=per_month,
            total=total,
            members=per_month[-1].members,
        )

    return [of(c, n, r) for c, n, r in cooperatives], of(None, total_name, total_region)


__all__ = ["SUMS", "CooperativeFigures", "Figures", "MonthFigures", "assemble", "figures"]
