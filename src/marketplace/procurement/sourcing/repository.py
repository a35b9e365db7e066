"""All queries of government sourcing. Never commits."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts import Scope
from marketplace.procurement.sourcing.models import (
    GoodsReceipt,
    Invoice,
    PurchaseOrder,
    Quote,
    Rfq,
    TreasuryPayment,
)


def release_time(at: dt.datetime) -> Any:
    """When an RFQ's current OCDS release dates from, as seen at `at`."""
    return case(
        (Rfq.deadline <= at, func.greatest(Rfq.changed_at, Rfq.deadline)),
        else_=Rfq.changed_at,
    )


class SourcingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()

    # --- RFQs ------------------------------------------------------------------------

    async def rfq(self, rfq_id: uuid.UUID, *, lock: str | None = None) -> Rfq | None:
        """`lock`: None, "share" (quotes; blocks an award meanwhile) or "update"."""
        stmt = select(Rfq).where(Rfq.id == rfq_id)
        if lock == "update":
            stmt = stmt.with_for_update()
        elif lock == "share":
            stmt = stmt.with_for_update(read=True)
        stmt = stmt.execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def rfqs_page(
        self,
        *,
        scope: Scope,
        city_prefix: str | None,
        statuses: Sequence[str] | None,
        open_after: dt.datetime | None,
        closed_at: dt.datetime | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Rfq]:
        """Newest first. `open_after`: only stored-open RFQs whose deadline is later;
        `closed_at`: only stored-open RFQs whose deadline has passed."""
        stmt = scope.narrow(select(Rfq), lambda org: Rfq.buyer_organization_id == org)
        if city_prefix is not None:
            stmt = stmt.where(Rfq.delivery_city_prefix == city_prefix)
        if statuses is not None:
            stmt = stmt.where(Rfq.status.in_(statuses))
        if open_after is not None:
            stmt = stmt.where(Rfq.deadline > open_after)
        if closed_at is not None:
            stmt = stmt.where(Rfq.deadline <= closed_at)
        if after is not None:
            stmt = stmt.where(Rfq.id < after)
        stmt = stmt.order_by(Rfq.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def rfqs_released_since(
        self,
        since: dt.datetime | None,
        at: dt.datetime,
        limit: int,
        rfq_id: uuid.UUID | None = None,
    ) -> list[Rfq]:
        """RFQs whose current release is at or after `since`, oldest release first (or
        only `rfq_id`). A release changes when the process changes and when quotes unseal
        at the deadline."""
        released = release_time(at)
        stmt = select(Rfq)
        if rfq_id is not None:
            stmt = stmt.where(Rfq.id == rfq_id)
        if since is not None:
            stmt = stmt.where(released >= since)
        stmt = stmt.order_by(released, Rfq.id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    # --- quotes ----------------------------------------------------------------------

    async def upsert_quote(self, values: dict[str, Any]) -> uuid.UUID:
        """Insert the cooperative's quote, or replace its prices and promise (one per
        cooperative per RFQ, enforced by the unique constraint)."""
        base = insert(Quote).values(**values)
        stmt = base.on_conflict_do_update(
            index_elements=[Quote.rfq_id, Quote.supplier_organization_id],
            set_={
                "unit_prices": base.excluded.unit_prices,
                "total": base.excluded.total,
                "delivery_promise_date": base.excluded.delivery_promise_date,
                "note": base.excluded.note,
                "submitted_at": base.excluded.submitted_at,
                "submitted_by_api_key_id": base.excluded.submitted_by_api_key_id,
                "submitted_by_person_id": base.excluded.submitted_by_person_id,
            },
        ).returning(Quote.id)
        quote_id: uuid.UUID = (await self.session.execute(stmt)).scalar_one()
        return quote_id

    async def quote(self, quote_id: uuid.UUID) -> Quote | None:
        stmt = select(Quote).where(Quote.id == quote_id).execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def quote_counts(self, rfq_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        if not rfq_ids:
            return {}
        rows = await self.session.execute(
            select(Quote.rfq_id, func.count())
            .where(Quote.rfq_id.in_(rfq_ids))
            .group_by(Quote.rfq_id)
        )
        return {row[0]: int(row[1]) for row in rows}

    async def quotes_of(
        self, rfq_ids: Sequence[uuid.UUID], *, supplier_id: uuid.UUID | None = None
    ) -> list[Quote]:
        if not rfq_ids:
            return []
        stmt = select(Quote).where(Quote.rfq_id.in_(rfq_ids))
        if supplier_id is not None:
            stmt = stmt.where(Quote.supplier_organization_id == supplier_id)
        stmt = stmt.order_by(Quote.rfq_id, Quote.id).execution_options(populate_existing=True)
        return list((await self.session.execute(stmt)).scalars())

    async def quoted_rfq_ids(
        self, supplier_id: uuid.UUID, rfq_ids: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        if not rfq_ids:
            return set()
        stmt = select(Quote.rfq_id).where(
            Quote.supplier_organization_id == supplier_id, Quote.rfq_id.in_(rfq_ids)
        )
        return set((await self.session.execute(stmt)).scalars())

    # --- purchase orders -------------------------------------------------------------

    async def purchase_order(
        self, po_id: uuid.UUID, *, for_update: bool = False
    ) -> PurchaseOrder | None:
        stmt = select(PurchaseOrder).where(PurchaseOrder.id == po_id)
        if for_update:
            stmt = stmt.with_for_update()
        stmt = stmt.execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def purchase_orders_of(self, rfq_ids: Sequence[uuid.UUID]) -> list[PurchaseOrder]:
        if not rfq_ids:
            return []
        stmt = (
            select(PurchaseOrder)
            .where(PurchaseOrder.rfq_id.in_(rfq_ids))
            .order_by(PurchaseOrder.rfq_id, PurchaseOrder.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def purchase_orders_page(
        self,
        *,
        scope: Scope,
        status: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[PurchaseOrder]:
        stmt = scope.narrow(
            select(PurchaseOrder),
            lambda org: or_(
                PurchaseOrder.buyer_organization_id == org,
                PurchaseOrder.supplier_organization_id == org,
            ),
        )
        if status is not None:
            stmt = stmt.where(PurchaseOrder.status == status)
        if after is not None:
            stmt = stmt.where(PurchaseOrder.id < after)
        stmt = stmt.order_by(PurchaseOrder.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def receipts_of(self, po_ids: Sequence[uuid.UUID]) -> list[GoodsReceipt]:
        if not po_ids:
            return []
        stmt = (
            select(GoodsReceipt)
            .where(GoodsReceipt.purchase_order_id.in_(po_ids))
            .order_by(GoodsReceipt.purchase_order_id, GoodsReceipt.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    # --- invoices and payments -------------------------------------------------------

    async def invoices_of(self, po_ids: Sequence[uuid.UUID]) -> list[Invoice]:
        if not po_ids:
            return []
        stmt = select(Invoice).where(Invoice.purchase_order_id.in_(po_ids))
        return list((await self.session.execute(stmt)).scalars())

    async def payments_of(self, po_ids: Sequence[uuid.UUID]) -> list[TreasuryPayment]:
        if not po_ids:
            return []
        stmt = (
            select(TreasuryPayment)
            .where(TreasuryPayment.purchase_order_id.in_(po_ids))
            .order_by(TreasuryPayment.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def payment_by_sp2d(
        self, buyer_id: uuid.UUID, sp2d_number: str
    ) -> TreasuryPayment | None:
        stmt = select(TreasuryPayment).where(
            and_(
                TreasuryPayment.buyer_organization_id == buyer_id,
                TreasuryPayment.sp2d_number == sp2d_number,
            )
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
