"""The report's figures as they were computed before the monthly roll-up: straight from
the sources' raw rows on every request (GROUPING SETS over a year of order legs). Kept
here, an independent statement of what each figure is, to check the roll-up the database
keeps up (`report_monthly_*`) against: both give the same grouped rows.

A month is the cooperative's local month (its time zone), not UTC's. The rows are narrowed
first by a UTC range a day wider on each side, then by the local month.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_COOPS = """
WITH coops AS (
    SELECT id, time_zone, left(region_code, 5) AS city
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

# Sales: delivered legs supplied by the cooperative, at what was really received (pre-VAT).
# Two levels: the legs are first summed per (cooperative, month, buyer, kind) — one hash
# aggregate over the rows, as a bare GROUP BY — and only those few sums are joined to the
# buyers' kinds and grouped in every set, where a distinct count needs a sort.
LEGS = text(
    _COOPS
    + """,
per_buyer AS (
    SELECT l.supplier_organization_id AS coop,
           date_trunc('month', l.delivered_at AT TIME ZONE c.time_zone)::date AS month,
           l.buyer_organization_id AS buyer, l.kind,
           sum(coalesce(l.delivered_quantity, l.quantity) * l.unit_price) AS value
    FROM order_legs l
    JOIN coops c ON c.id = l.supplier_organization_id
    WHERE l.status = 'delivered' AND l.delivered_at >= :lo AND l.delivered_at < :hi
    GROUP BY 1, 2, 3, 4
),
scoped AS (
    SELECT p.*, b.kind AS buyer_kind, p.month >= :start AS in_period
    FROM per_buyer p JOIN organizations b ON b.id = p.buyer
    WHERE p.month BETWEEN :first AND :last
)
"""
    + _HEAD
    + """,
    coalesce(sum(value), 0) AS turnover,
    coalesce(sum(value) FILTER (WHERE kind <> 'consignment' AND buyer_kind = 'kitchen'), 0)
        AS to_kitchens,
    coalesce(sum(value) FILTER (WHERE kind <> 'consignment' AND buyer_kind = 'food_stall'), 0)
        AS to_stalls,
    coalesce(sum(value) FILTER (WHERE kind <> 'consignment' AND buyer_kind = 'government'), 0)
        AS to_government,
    coalesce(sum(value) FILTER (WHERE kind <> 'consignment'
        AND buyer_kind NOT IN ('kitchen', 'food_stall', 'government')), 0) AS to_others,
    coalesce(sum(value) FILTER (WHERE kind = 'consignment'), 0) AS consignment_sales,
    count(DISTINCT buyer) AS buyers
FROM scoped"""
    + _GROUPS
)

# What the UMKM consignors earned: each consignment sale net of the commission, in the
# month it sold; and how much of the consigned supply came from the cooperative's city.
CONSIGNMENT = text(
    _COOPS
    + """,
per_consignor AS (
    SELECT s.cooperative_id AS coop,
           date_trunc('month', s.sold_at AT TIME ZONE c.time_zone)::date AS month,
           s.consignor_id, c.city,
           sum(s.gross_amount) AS gross, sum(s.commission_amount) AS commission
    FROM consignment_sales s
    JOIN coops c ON c.id = s.cooperative_id
    WHERE s.sold_at >= :lo AND s.sold_at < :hi
    GROUP BY 1, 2, 3, 4
),
scoped AS (
    SELECT p.*, left(u.region_code, 5) = p.city AS local, p.month >= :start AS in_period
    FROM per_consignor p JOIN organizations u ON u.id = p.consignor_id
    WHERE p.month BETWEEN :first AND :last
)
"""
    + _HEAD
    + """,
    count(DISTINCT consignor_id) AS consignors,
    coalesce(sum(gross - commission), 0) AS consignor_earnings,
    coalesce(sum(gross), 0) AS consigned_supply,
    coalesce(sum(gross) FILTER (WHERE local), 0) AS local_consigned_supply
FROM scoped"""
    + _GROUPS
)

# Purchases from Bulog: each closed lot's purchase order, in the month it was placed.
BULOG = text(
    _COOPS
    + """,
facts AS (
    SELECT p.cooperative_organization_id AS coop,
           date_trunc('month', p.created_at AT TIME ZONE c.time_zone)::date AS month,
           p.total, left(b.region_code, 5) = c.city AS local
    FROM bulog_purchase_orders p
    JOIN coops c ON c.id = p.cooperative_organization_id
    JOIN organizations b ON b.id = p.bulog_organization_id
    WHERE p.created_at >= :lo AND p.created_at < :hi
),
scoped AS (SELECT *, month >= :start AS in_period FROM facts WHERE month BETWEEN :first AND :last)
"""
    + _HEAD
    + """,
    coalesce(sum(total), 0) AS bulog_purchases,
    coalesce(sum(total) FILTER (WHERE local), 0) AS local_bulog_purchases
FROM scoped"""
    + _GROUPS
)

# Inter-city trade: shipments of the cooperative's allotments and the levy they carried.
TRADE = text(
    _COOPS
    + """,
facts AS (
    SELECT a.supplier_organization_id AS coop,
           date_trunc('month', t.created_at AT TIME ZONE c.time_zone)::date AS month,
           t.quantity, t.amount, t.levy_amount
    FROM trade_shipments t
    JOIN trade_allotments a ON a.id = t.allotment_id
    JOIN coops c ON c.id = a.supplier_organization_id
    WHERE t.created_at >= :lo AND t.created_at < :hi
),
scoped AS (SELECT *, month >= :start AS in_period FROM facts WHERE month BETWEEN :first AND :last)
"""
    + _HEAD
    + """,
    coalesce(sum(quantity), 0) AS trade_quantity,
    coalesce(sum(amount), 0) AS trade_amount,
    coalesce(sum(levy_amount), 0) AS trade_levy
FROM scoped"""
    + _GROUPS
)

SOURCES = (LEGS, CONSIGNMENT, BULOG, TRADE)


async def live_grouped(
    session: AsyncSession,
    prefix: str | None,
    coop: uuid.UUID | None,
    first: dt.date,
    start: dt.date,
    last: dt.date,
) -> list[dict[str, Any]]:
    """What `FiguresRepository.grouped` answers, from the raw rows."""
    lo = dt.datetime.combine(first, dt.time(), dt.UTC) - dt.timedelta(days=1)
    after = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1)
    hi = dt.datetime.combine(after, dt.time(), dt.UTC) + dt.timedelta(days=1)
    params = {
        "prefix": prefix,
        "coop": coop,
        "lo": lo,
        "hi": hi,
        "first": first,
        "last": last,
        "start": start,
    }
    found: list[dict[str, Any]] = []
    for statement in SOURCES:
        result = await session.execute(statement, params)
        found.extend(dict(row._mapping) for row in result)
    return found
