"""All queries of the orders context."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.db import Base
from marketplace.orders.models import BudgetPeriod, Order, OrderLeg, OrderLine, StandingOrder


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add_all(self, objects: Sequence[object]) -> None:
        self.session.add_all(objects)

    async def insert_rows(self, model: type[Base], objects: Sequence[Base]) -> None:
        """One bulk INSERT for many new rows, without the unit of work tracking each
        object (that bookkeeping was a third of an order's placement time). The objects
        stay transient: callers read them, and must not expect changes to persist."""
        if not objects:
            return
        columns = [c.key for c in model.__table__.columns]
        await self.session.execute(
            insert(model), [{key: getattr(o, key) for key in columns} for o in objects]
        )

    async def flush(self) -> None:
        await self.session.flush()

    async def get(self, order_id: uuid.UUID, *, for_update: bool = False) -> Order | None:
        stmt = select(Order).where(Order.id == order_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lines(self, order_id: uuid.UUID) -> list[OrderLine]:
        stmt = select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
        return list((await self.session.execute(stmt)).scalars())

    async def legs(self, order_id: uuid.UUID, *, for_update: bool = False) -> list[OrderLeg]:
        stmt = (
            select(OrderLeg)
            .where(OrderLeg.order_id == order_id)
            .order_by(OrderLeg.line_no, OrderLeg.id)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return list((await self.session.execute(stmt)).scalars())

    async def legs_of_orders(self, order_ids: Sequence[uuid.UUID]) -> list[OrderLeg]:
        if not order_ids:
            return []
        stmt = (
            select(OrderLeg)
            .where(OrderLeg.order_id.in_(order_ids))
            .order_by(OrderLeg.order_id, OrderLeg.line_no, OrderLeg.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def lines_of_orders(self, order_ids: Sequence[uuid.UUID]) -> list[OrderLine]:
        if not order_ids:
            return []
        stmt = (
            select(OrderLine)
            .where(OrderLine.order_id.in_(order_ids))
            .order_by(OrderLine.order_id, OrderLine.line_no)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def leg(self, leg_id: uuid.UUID) -> OrderLeg | None:
        return await self.session.get(OrderLeg, leg_id)

    async def lock_order_of_leg(self, leg_id: uuid.UUID) -> tuple[Order, OrderLeg] | None:
        """The order row is the lock that serialises all changes to its legs."""
        leg = await self.session.get(OrderLeg, leg_id)
        if leg is None:
            return None
        order = await self.get(leg.order_id, for_update=True)
        assert order is not None
        await self.session.refresh(leg)
        return order, leg

    async def orders_page(
        self,
        *,
        buyer_id: uuid.UUID | None,
        status: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Order]:
        stmt = select(Order).order_by(Order.id.desc()).limit(limit)
        if buyer_id is not None:
            stmt = stmt.where(Order.buyer_organization_id == buyer_id)
        if status is not None:
            stmt = stmt.where(Order.status == status)
        if after is not None:
            stmt = stmt.where(Order.id < after)
        return list((await self.session.execute(stmt)).scalars())

    async def legs_page(
        self,
        *,
        supplier_id: uuid.UUID | None,
        status: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[OrderLeg]:
        stmt = select(OrderLeg).order_by(OrderLeg.id).limit(limit)
        if supplier_id is not None:
            stmt = stmt.where(OrderLeg.supplier_organization_id == supplier_id)
        if status is not None:
            stmt = stmt.where(OrderLeg.status == status)
        if after is not None:
            stmt = stmt.where(OrderLeg.id > after)
        return list((await self.session.execute(stmt)).scalars())

    async def order_for_standing(
        self, standing_order_id: uuid.UUID, delivery_date: dt.date
    ) -> Order | None:
        stmt = select(Order).where(
            Order.standing_order_id == standing_order_id, Order.delivery_date == delivery_date
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


class BudgetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, period: BudgetPeriod) -> None:
        self.session.add(period)

    async def get(self, period_id: uuid.UUID) -> BudgetPeriod | None:
        return await self.session.get(BudgetPeriod, period_id)

    async def periods_of(self, kitchen_id: uuid.UUID) -> list[BudgetPeriod]:
        stmt = (
            select(BudgetPeriod)
            .where(BudgetPeriod.kitchen_organization_id == kitchen_id)
            .order_by(BudgetPeriod.start_date)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def covering(
        self, kitchen_id: uuid.UUID, day: dt.date, *, for_update: bool = False
    ) -> BudgetPeriod | None:
        stmt = select(BudgetPeriod).where(
            BudgetPeriod.kitchen_organization_id == kitchen_id,
            BudgetPeriod.start_date <= day,
            BudgetPeriod.end_date >= day,
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def committed(self, period_id: uuid.UUID) -> int:
        """What live orders of the period cost, net of what short deliveries credited."""
        stmt = select(func.coalesce(func.sum(Order.total - Order.credited_total), 0)).where(
            Order.budget_period_id == period_id, Order.status != "cancelled"
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def order_count(self, period_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(
            Order.budget_period_id == period_id, Order.status != "cancelled"
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def spent(self, period_id: uuid.UUID) -> int:
        """Goods received: delivered legs, at what was really delivered."""
        stmt = (
            select(
                func.coalesce(
                    func.sum(OrderLeg.subtotal + OrderLeg.vat_amount - OrderLeg.credited_amount), 0
                )
            )
            .join(Order, Order.id == OrderLeg.order_id)
            .where(Order.budget_period_id == period_id, OrderLeg.status == "delivered")
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def spend_by(
        self, period_id: uuid.UUID
    ) -> tuple[list[tuple[str, int]], list[tuple[uuid.UUID, int]]]:
        """Committed spend per product category and per supplier (live legs)."""
        amount = func.sum(OrderLeg.subtotal + OrderLeg.vat_amount - OrderLeg.credited_amount)
        base = (
            select()
            .select_from(OrderLeg)
            .join(Order, Order.id == OrderLeg.order_id)
            .where(Order.budget_period_id == period_id, OrderLeg.status != "cancelled")
        )
        by_category = await self.session.execute(
            base.add_columns(OrderLeg.category, amount)
            .group_by(OrderLeg.category)
            .order_by(OrderLeg.category)
        )
        by_supplier = await self.session.execute(
            base.add_columns(OrderLeg.supplier_organization_id, amount)
            .group_by(OrderLeg.supplier_organization_id)
            .order_by(OrderLeg.supplier_organization_id)
        )
        return (
            [(r[0], int(r[1])) for r in by_category],
            [(r[0], int(r[1])) for r in by_supplier],
        )


class StandingOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, standing: StandingOrder) -> None:
        self.session.add(standing)

    async def get(self, standing_id: uuid.UUID) -> StandingOrder | None:
        return await self.session.get(StandingOrder, standing_id)

    async def active(self) -> list[StandingOrder]:
        stmt = (
            select(StandingOrder).where(StandingOrder.active.is_(True)).order_by(StandingOrder.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def of_buyer(self, buyer_id: uuid.UUID) -> list[StandingOrder]:
        stmt = (
            select(StandingOrder)
            .where(StandingOrder.buyer_organization_id == buyer_id)
            .order_by(StandingOrder.id)
        )
        return list((await self.session.execute(stmt)).scalars())
