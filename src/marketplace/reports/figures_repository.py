"""The report's figures, aggregated in PostgreSQL from the monthly roll-up: one statement
for the additive figures and one per distinct count, each grouped by cooperative and month,
by month over all cooperatives, by cooperative over the period and over everything
(GROUPING SETS), so distinct counts of a total are true distinct counts. Python receives at
most (cooperatives + 1) x (months + 1) x 2 rows a statement.

The roll-up (`report_monthly_*`, models in `reports.models`) holds the other contexts'
figures per cooperative and local month (its time zone, not UTC's), kept up by the
database's triggers in the transaction that writes the sources: orders' legs, consignment's
sales, procurement's Bulog purchase orders and trade shipments (migration
0024_report_monthly_rollup says which rows count and how). So a year is at most twelve rows
a cooperative, however many orders it delivered. The reports context imports none of the
sources' models; accounts' organizations are read here by name, read-only.
Writers append their changes as pending rows (no two writers wait on one row); the report
reads folded and pending rows together, and `fold` (the worker's `reports.fold_rollup`,
every few seconds) sums committed pending rows into the folded ones.
`rebuild` replaces cooperatives' roll-up from the sources (a repair; tests arranging time).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.reports.domain.figures import SUMS

DISTINCT_COUNTS = ("buyers", "consignors")
ROLLED_UP = tuple(name for name in SUMS if name not in DISTINCT_COUNTS)

_COOPS = """
WITH coops AS (
    SELECT id
    FROM organizations
    WHERE kind = 'cooperative'
      AND (CAST(:prefix AS text) IS NULL
           OR region_code = :prefix OR region_code LIKE CAST(:prefix AS text) || '.%')
      AND (CAST(:coop AS uuid) IS NULL OR id = :coop)
)"""

_GROUPS = """
GROUP BY GROUPING SETS (
    (coop, month, in_period), (month, in_period), (coop, in_period), (in_period)
)"""

_HEAD = """
SELECT coop, month, in_period, GROUPING(coop) AS all_coops, GROUPING(month) AS all_months"""

# The additive figures: at most one roll-up row per cooperative and month.
ROLLUP = text(
    _COOPS
    + """,
scoped AS (
    SELECT r.*, r.cooperative_id AS coop, r.month >= :start AS in_period
    FROM (
        SELECT * FROM report_monthly_rollup
        UNION ALL SELECT * FROM report_monthly_rollup_pending
    ) r JOIN coops c ON c.id = r.cooperative_id
    WHERE r.month BETWEEN :first AND :last
)
"""
    + _HEAD
    + ",\n"
    + ",\n".join(f"    coalesce(sum({name}), 0) AS {name}" for name in ROLLED_UP)
    + "\nFROM scoped"
    + _GROUPS
)


def _distinct(table: str, party: str, count: str, figure: str) -> TextClause:
    """Distinct parties (buyers, consignors) of each group, from the (cooperative, month,
    party) sets: a party counts once in a total however many months it appears in."""
    return text(
        _COOPS
        + f""",
scoped AS (
    SELECT p.cooperative_id AS coop, p.month, p.{party} AS party,
           p.month >= :start AS in_period
    FROM (
        SELECT cooperative_id, month, {party}, sum({count}) AS {count}
        FROM (SELECT * FROM {table} UNION ALL SELECT * FROM {table}_pending) both_kinds
        WHERE month BETWEEN :first AND :last
        GROUP BY cooperative_id, month, {party}
    ) p JOIN coops c ON c.id = p.cooperative_id
    WHERE p.{count} > 0
)
"""
        + _HEAD
        + f",\n    count(DISTINCT party) AS {figure}\nFROM scoped"
        + _GROUPS
    )


BUYERS = _distinct("report_monthly_buyers", "buyer_id", "legs", "buyers")
CONSIGNORS = _distinct("report_monthly_consignors", "consignor_id", "sales", "consignors")

COOPERATIVES = text(
    _COOPS
    + """
SELECT o.id, o.name, o.region_code FROM organizations o JOIN coops c ON c.id = o.id
ORDER BY o.region_code, o.name, o.id"""
)

SOURCES = (ROLLUP, BUYERS, CONSIGNORS)


class FiguresRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def cooperatives(
        self, prefix: str | None, coop: uuid.UUID | None
    ) -> list[tuple[uuid.UUID, str, str]]:
        rows = await self.session.execute(COOPERATIVES, {"prefix": prefix, "coop": coop})
        return [(r.id, r.name, r.region_code) for r in rows]

    async def grouped(
        self,
        prefix: str | None,
        coop: uuid.UUID | None,
        first: dt.date,
        start: dt.date,
        last: dt.date,
    ) -> list[dict[str, Any]]:
        """Every source's grouped rows, months `first`..`last` (`start` on is the period
        asked for, before it the year before), as plain dicts."""
        params = {
            "prefix": prefix,
            "coop": coop,
            "first": first,
            "last": last,
            "start": start,
        }
        found: list[dict[str, Any]] = []
        for statement in SOURCES:
            result = await self.session.execute(statement, params)
            found.extend(dict(row._mapping) for row in result)
        return found

    async def fold(self) -> int:
        """Sum the committed writers' pending rows into the folded ones (how many folded
        rows they touched); the figures stay as they were."""
        return int(await self.session.scalar(text("SELECT report_rollup_fold()")) or 0)

    async def rebuild(self, cooperatives: list[uuid.UUID]) -> None:
        """Replace these cooperatives' roll-up by what their sources hold now."""
        await self.session.execute(
            text("SELECT report_rollup_rebuild(CAST(:coops AS uuid[]))"), {"coops": cooperatives}
        )
