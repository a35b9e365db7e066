"""All queries of the payments context. Never commits."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.payments.models import Payment, Refund, StripeEvent


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, obj: Payment | Refund) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()

    async def lock_order_payments(self, order_id: uuid.UUID) -> None:
        """Serialise payment creation for one order (transaction-scoped)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"payments:order:{order_id}"},
        )

    async def get(self, payment_id: uuid.UUID, *, for_update: bool = False) -> Payment | None:
        query = select(Payment).where(Payment.id == payment_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get_by_provider_id(
        self, provider_payment_id: str, *, for_update: bool = False
    ) -> Payment | None:
        query = select(Payment).where(Payment.provider_payment_id == provider_payment_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def of_order(
        self,
        order_id: uuid.UUID,
        *,
        after: uuid.UUID | None = None,
        limit: int | None = None,
        for_update: bool = False,
    ) -> list[Payment]:
        query: Any = select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)
        if after is not None:
            query = query.where(Payment.id > after)
        if limit is not None:
            query = query.limit(limit)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return list((await self.session.execute(query)).scalars())

    async def open_of_order(self, order_id: uuid.UUID, statuses: list[str]) -> Payment | None:
        result = await self.session.execute(
            select(Payment)
            .where(Payment.order_id == order_id, Payment.status.in_(statuses))
            .order_by(Payment.id)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def card_payments_to_cancel(self, older_than: dt.datetime, limit: int) -> list[uuid.UUID]:
        """In-flight card payments of cancelled orders (their cancel job may be lost)."""
        result = await self.session.execute(
            select(Payment.id)
            .where(
                Payment.method == "card",
                Payment.status.in_(["pending", "requires_action", "processing"]),
                Payment.provider_payment_id.is_not(None),
                Payment.order_cancelled_at.is_not(None),
                Payment.order_cancelled_at < older_than,
            )
            .order_by(Payment.id)
            .limit(limit)
        )
        return list(result.scalars())

    # --- refunds ----------------------------------------------------------------------

    async def refund_of_payment(
        self, payment_id: uuid.UUID, *, for_update: bool = False
    ) -> Refund | None:
        query = select(Refund).where(Refund.payment_id == payment_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def refunds_of_payments(self, payment_ids: list[uuid.UUID]) -> list[Refund]:
        if not payment_ids:
            return []
        result = await self.session.execute(
            select(Refund).where(Refund.payment_id.in_(payment_ids)).order_by(Refund.id)
        )
        return list(result.scalars())

    async def get_refund(self, refund_id: uuid.UUID, *, for_update: bool = False) -> Refund | None:
        query = select(Refund).where(Refund.id == refund_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def unsubmitted_refunds(self, older_than: dt.datetime, limit: int) -> list[uuid.UUID]:
        result = await self.session.execute(
            select(Refund.id)
            .where(
                Refund.status == "pending",
                Refund.channel == "stripe",
                Refund.provider_refund_id.is_(None),
                Refund.created_at < older_than,
            )
            .order_by(Refund.created_at)
            .limit(limit)
        )
        return list(result.scalars())


class StripeEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_new(
        self,
        *,
        id: uuid.UUID,
        event_id: str,
        type: str,
        occurred_at: dt.datetime,
        payload: dict[str, Any],
    ) -> bool:
        """One row per Stripe event id; False when it was already stored."""
        result = await self.session.execute(
            insert(StripeEvent)
            .values(
                id=id,
                event_id=event_id,
                type=type,
                occurred_at=occurred_at,
                payload=payload,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=[StripeEvent.event_id])
            .returning(StripeEvent.id)
        )
        return result.scalar_one_or_none() is not None

    async def lock(self, event_id: str) -> StripeEvent | None:
        result = await self.session.execute(
            select(StripeEvent)
            .where(StripeEvent.event_id == event_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def get(self, event_id: str) -> StripeEvent | None:
        result = await self.session.execute(
            select(StripeEvent).where(StripeEvent.event_id == event_id)
        )
        return result.scalar_one_or_none()

    async def unhandled(self, older_than: dt.datetime, limit: int) -> list[str]:
        result = await self.session.execute(
            select(StripeEvent.event_id)
            .where(StripeEvent.handled_at.is_(None), StripeEvent.received_at < older_than)
            .order_by(StripeEvent.received_at)
            .limit(limit)
        )
        return list(result.scalars())

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count(StripeEvent.id)))).scalar_one())
