"""Queries of the kitchen's two-weekly report: its deliveries and their sums, in SQL.

A delivery is a delivered leg of one of the kitchen's orders; its amount is what the
budget counts as spent (`subtotal + vat_amount - credited_amount`). The scope is either a
budget period (its orders, as the budget page's "spent") or a range of delivery dates
(the kitchen's local dates). The sums are one aggregate over those legs, joined to their
supplier's and goods owner's organization (kind, region): the cooperative share is by the
supplier, the local UMKM share by the goods' owner (a UMKM selling itself, or consigning
through a cooperative) in the kitchen's city (region code's first 5 characters).
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.orders.domain.fortnight import CITY_PREFIX_LENGTH

_FROM = """
    FROM order_legs AS l
    JOIN orders AS o ON o.id = l.order_id
    WHERE o.buyer_organization_id = CAST(:kitchen_id AS uuid)
      AND l.status = 'delivered'
      AND {scope}
"""
_BY_PERIOD = "o.budget_period_id = CAST(:period_id AS uuid)"
_BY_DATES = "o.delivery_date BETWEEN CAST(:start AS date) AND CAST(:end AS date)"
_AMOUNT = "(l.subtotal + l.vat_amount - l.credited_amount)"

_DELIVERIES = """
    SELECT l.id AS leg_id, l.order_id, o.delivery_date, l.delivered_at, l.product_id,
           l.supplier_organization_id, l.delivered_quantity, l.unit_price,
           {amount} AS amount
    {source}
    ORDER BY o.delivery_date, l.delivered_at, l.id
"""
_SUMS = """
    SELECT count(*) AS deliveries,
           count(DISTINCT l.supplier_organization_id) AS suppliers,
           COALESCE(sum({amount}), 0) AS spent,
           COALESCE(sum({amount}) FILTER (WHERE s.kind = 'cooperative'), 0) AS cooperatives,
           COALESCE(sum({amount}) FILTER (
               WHERE w.kind = 'umkm' AND left(w.region_code, {city}) = left(k.region_code, {city})
           ), 0) AS local_umkm
    FROM order_legs AS l
    JOIN orders AS o ON o.id = l.order_id
    JOIN organizations AS k ON k.id = o.buyer_organization_id
    JOIN organizations AS s ON s.id = l.supplier_organization_id
    JOIN organizations AS w ON w.id = l.owner_organization_id
    WHERE o.buyer_organization_id = CAST(:kitchen_id AS uuid)
      AND l.status = 'delivered'
      AND {scope}
"""


def _statements(scope: str) -> tuple[TextClause, TextClause]:
    deliveries = _DELIVERIES.format(amount=_AMOUNT, source=_FROM.format(scope=scope))
    sums = _SUMS.format(amount=_AMOUNT, city=CITY_PREFIX_LENGTH, scope=scope)
    return text(deliveries), text(sums)


_PERIOD_SQL = _statements(_BY_PERIOD)
_DATES_SQL = _statements(_BY_DATES)
_ENVELOPES = text(
    """
    SELECT COALESCE(sum(envelope), 0) FROM budget_periods
    WHERE kitchen_organization_id = CAST(:kitchen_id AS uuid)
      AND start_date <= CAST(:end AS date) AND end_date >= CAST(:start AS date)
    """
)


class DeliveryRow(msgspec.Struct, frozen=True, kw_only=True):
    leg_id: uuid.UUID
    order_id: uuid.UUID
    delivery_date: dt.date
    delivered_at: dt.datetime
    product_id: uuid.UUID
    supplier_organization_id: uuid.UUID
    delivered_quantity: int
    unit_price: int
    amount: int


class ReportSums(msgspec.Struct, frozen=True, kw_only=True):
    deliveries: int
    suppliers: int
    spent: int
    cooperatives: int
    local_umkm: int


class ReportScope(msgspec.Struct, frozen=True, kw_only=True):
    kitchen_id: uuid.UUID
    period_id: uuid.UUID | None = None
    start: dt.date
    end: dt.date


class KitchenReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _bound(self, scope: ReportScope) -> tuple[tuple[TextClause, TextClause], dict[str, object]]:
        if scope.period_id is not None:
            return _PERIOD_SQL, {"kitchen_id": scope.kitchen_id, "period_id": scope.period_id}
        return _DATES_SQL, {"kitchen_id": scope.kitchen_id, "start": scope.start, "end": scope.end}

    async def deliveries(self, scope: ReportScope) -> list[DeliveryRow]:
        (deliveries, _sums), params = self._bound(scope)
        rows = await self.session.execute(deliveries, params)
        return [
            DeliveryRow(**{**row._asdict(), "delivered_quantity": row.delivered_quantity or 0})
            for row in rows
        ]

    async def sums(self, scope: ReportScope) -> ReportSums:
        (_deliveries, sums), params = self._bound(scope)
        row = (await self.session.execute(sums, params)).one()
        return ReportSums(**{k: int(v) for k, v in row._asdict().items()})

    async def envelopes_overlapping(
        self, kitchen_id: uuid.UUID, start: dt.date, end: dt.date
    ) -> int:
        """The envelopes of the kitchen's budget periods that share a day with the range."""
        found = await self.session.scalar(
            _ENVELOPES, {"kitchen_id": kitchen_id, "start": start, "end": end}
        )
        return int(found or 0)
