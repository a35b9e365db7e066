"""All queries of the orders context."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy import Table, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from marketplace.accounts import Scope
from marketplace.driver import DriverStatement, session_driver
from marketplace.ids import first_id_at
from marketplace.orders.domain.placed import PlacedOrder, PlacedOrderRow
from marketplace.orders.models import (
    BudgetPeriod,
    Order,
    OrderLeg,
    OrderLine,
    StandingOrder,
    StandingOrderRun,
)
from marketplace.unnest_insert import UnnestInsert

# Placement's statements, built once (SQLAlchemy caches their compiled form): Core
# inserts of plain rows, so the session tracks nothing it would have to flush.
_INSERT_ORDER = UnnestInsert(
    Order, shared=tuple(name for name in PlacedOrderRow.__struct_fields__ if name != "id")
)
# An order's lines and legs: one INSERT each from arrays (one column each), whatever
# the number of lines — a single statement execution, not one per row. The columns
# every row of an order has alike go once.
_INSERT_LINES = UnnestInsert(OrderLine, shared=("order_id",))
_INSERT_LEGS = UnnestInsert(
    OrderLeg, shared=("order_id", "buyer_organization_id", "status", "created_at")
)
_PERIODS: Table = BudgetPeriod.metadata.tables["budget_periods"]
_RUNS: Table = StandingOrderRun.metadata.tables["standing_order_runs"]
_PERIOD_COVERING_SELECT = select(_PERIODS.c.id, _PERIODS.c.envelope).where(
    _PERIODS.c.kitchen_organization_id == bindparam("kitchen_id"),
    _PERIODS.c.start_date <= bindparam("day"),
    _PERIODS.c.end_date >= bindparam("day"),
)
_PERIOD_COVERING = DriverStatement(_PERIOD_COVERING_SELECT)
_PERIOD_COVERING_LOCKED = DriverStatement(_PERIOD_COVERING_SELECT.with_for_update())
# A buyer's orders of a programme's goods placed in [start, end), by weight. The id range
# (ids are time-ordered, `ids.first_id_at`) keeps the read to that day's orders on
# `ix_orders_buyer`; `created_at` is the exact bound.
_PROGRAMME_GRAMS = text(
    """
    SELECT COALESCE(sum(l.quantity * p.net_content), 0)
    FROM orders AS o
    JOIN order_legs AS l ON l.order_id = o.id
    JOIN products AS p ON p.id = l.product_id
    WHERE o.buyer_organization_id = CAST(:buyer_id AS uuid)
      AND o.id >= CAST(:first_id AS uuid) AND o.id < CAST(:past_id AS uuid)
      AND o.created_at >= CAST(:start AS timestamptz) AND o.created_at < CAST(:end AS timestamptz)
      AND o.status <> 'cancelled' AND l.status <> 'cancelled'
      AND p.programme = CAST(:programme AS varchar) AND p.net_content_unit = 'GRM'
    """
)
_LOCK_KEY = text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))")
_SAVEPOINT = "SAVEPOINT order_placement"
_ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT order_placement"


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def savepoint(self) -> None:
        """A savepoint for plain-statement writes (no ORM objects pending); the commit
        releases it. SQLAlchemy's `begin_nested` is for writes through the session."""
        await (await session_driver(self.session)).execute(_SAVEPOINT)

    async def rollback_to_savepoint(self) -> None:
        await (await session_driver(self.session)).execute(_ROLLBACK_TO_SAVEPOINT)

    async def lock_buyer_day(self, buyer_id: uuid.UUID, programme: str, day: dt.date) -> None:
        """A transaction-scoped lock on (buyer, programme, day): a buyer's orders of the
        programme's goods that day count and write one after the other."""
        await self.session.execute(_LOCK_KEY, {"k": f"programme-day:{programme}:{buyer_id}:{day}"})

    async def programme_grams_ordered(
        self, buyer_id: uuid.UUID, programme: str, start: dt.datetime, end: dt.datetime
    ) -> int:
        """Grams of the programme's goods in the buyer's live legs of orders placed in
        [start, end)."""
        row = await self.session.execute(
            _PROGRAMME_GRAMS,
            {
                "buyer_id": buyer_id,
                "programme": programme,
                # A minute's slack: an order's id is made just before its `created_at`.
                "first_id": first_id_at(start - dt.timedelta(minutes=1)),
                "past_id": first_id_at(end + dt.timedelta(minutes=1)),
                "start": start,
                "end": end,
            },
        )
        return int(row.scalar_one())

    async def insert_placed(self, placed: PlacedOrder) -> None:
        """A new order, its lines and its legs, as rows: one INSERT per table whatever
        the number of lines, and nothing for the unit of work to track (building and
        flushing ORM objects was most of a placement's own time)."""
        order = placed.order
        driver = await session_driver(self.session)
        columns = msgspec.structs.asdict(order)
        columns["id"] = [order.id]  # the one column given per row
        await driver.fetch(_INSERT_ORDER.driver_statement, _INSERT_ORDER.array_params(**columns))
        if placed.lines:
            params = _INSERT_LINES.rows_params(placed.lines, order_id=order.id)
            await driver.fetch(_INSERT_LINES.driver_statement, params)
        if placed.legs:
            first = placed.legs[0]
            params = _INSERT_LEGS.rows_params(
                placed.legs,
                order_id=order.id,
                buyer_organization_id=first.buyer_organization_id,
                status=first.status,
                created_at=first.created_at,
            )
            await driver.fetch(_INSERT_LEGS.driver_statement, params)

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
        scope: Scope,
        status: str | None,
        after: uuid.UUID | None,
        limit: int,
        delivery_date: dt.date | None = None,
    ) -> list[Order]:
        """Orders newest first; scoped to those the organization buys."""
        stmt = select(Order).order_by(Order.id.desc()).limit(limit)
        stmt = scope.narrow(stmt, lambda org: Order.buyer_organization_id == org)
        if delivery_date is not None:
            stmt = stmt.where(Order.delivery_date == delivery_date)
        if status is not None:
            stmt = stmt.where(Order.status == status)
        if after is not None:
            stmt = stmt.where(Order.id < after)
        return list((await self.session.execute(stmt)).scalars())

    async def legs_page(
        self,
        *,
        scope: Scope,
        status: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[OrderLeg]:
        """Legs in id order; scoped to those the organization supplies."""
        stmt = select(OrderLeg).order_by(OrderLeg.id).limit(limit)
        stmt = scope.narrow(stmt, lambda org: OrderLeg.supplier_organization_id == org)
        if status is not None:
            stmt = stmt.where(OrderLeg.status == status)
        if after is not None:
            stmt = stmt.where(OrderLeg.id > after)
        return list((await self.session.execute(stmt)).scalars())

    async def supplier_legs_due(
        self, *, scope: Scope, delivery_dates: Sequence[dt.date], statuses: Sequence[str]
    ) -> list[tuple[OrderLeg, dt.date]]:
        """The legs the organization supplies for orders delivered on `delivery_dates`, in
        the given states, with their order's delivery date (a clerk's work queue)."""
        stmt = (
            select(OrderLeg, Order.delivery_date)
            .join(Order, Order.id == OrderLeg.order_id)
            .where(
                Order.delivery_date.in_(list(delivery_dates)),
                OrderLeg.status.in_(list(statuses)),
            )
            .order_by(Order.delivery_date, OrderLeg.buyer_organization_id, OrderLeg.id)
        )
        stmt = scope.narrow(stmt, lambda org: OrderLeg.supplier_organization_id == org)
        return [(row[0], row[1]) for row in await self.session.execute(stmt)]

    async def trade_totals(
        self, *, scope: Scope, start: dt.date, end: dt.date
    ) -> tuple[list[tuple[uuid.UUID, int, int, int]], list[tuple[uuid.UUID, int, int, int]]]:
        """What the organization sold and bought for delivery in [start, end]: per buyer
        (sales) and per supplier (purchases), (other party, legs, delivered quantity, value
        delivered with VAT) of the legs delivered."""
        value = OrderLeg.subtotal + OrderLeg.vat_amount - OrderLeg.credited_amount
        base = (
            select(
                func.count(OrderLeg.id),
                func.coalesce(func.sum(OrderLeg.delivered_quantity), 0),
                func.coalesce(func.sum(value), 0),
            )
            .join(Order, Order.id == OrderLeg.order_id)
            .where(
                OrderLeg.delivered_quantity.is_not(None), Order.delivery_date.between(start, end)
            )
        )
        sold = scope.narrow(
            base.add_columns(OrderLeg.buyer_organization_id).group_by(
                OrderLeg.buyer_organization_id
            ),
            lambda org: OrderLeg.supplier_organization_id == org,
        )
        bought = scope.narrow(
            base.add_columns(OrderLeg.supplier_organization_id).group_by(
                OrderLeg.supplier_organization_id
            ),
            lambda org: OrderLeg.buyer_organization_id == org,
        )
        return (
            [(r[3], int(r[0]), int(r[1]), int(r[2])) for r in await self.session.execute(sold)],
            [(r[3], int(r[0]), int(r[1]), int(r[2])) for r in await self.session.execute(bought)],
        )

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

    async def periods_page(
        self, kitchen_id: uuid.UUID, *, before: dt.date | None, limit: int
    ) -> list[BudgetPeriod]:
        """The kitchen's periods, latest first; `before` is the start date of the last one
        seen (a kitchen's periods never overlap, so start dates are unique)."""
        stmt = select(BudgetPeriod).where(BudgetPeriod.kitchen_organization_id == kitchen_id)
        if before is not None:
            stmt = stmt.where(BudgetPeriod.start_date < before)
        stmt = stmt.order_by(BudgetPeriod.start_date.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def envelope_covering(
        self, kitchen_id: uuid.UUID, day: dt.date, *, for_update: bool = False
    ) -> tuple[uuid.UUID, int] | None:
        """(period id, envelope) of the kitchen's period covering `day`, as columns."""
        stmt = _PERIOD_COVERING_LOCKED if for_update else _PERIOD_COVERING
        driver = await session_driver(self.session)
        rows = await driver.fetch(stmt, {"kitchen_id": kitchen_id, "day": day})
        return None if not rows else (rows[0][0], rows[0][1])

    async def committed(self, period_id: uuid.UUID) -> int:
        """What live orders of the period cost, net of what short deliveries credited."""
        stmt = select(func.coalesce(func.sum(Order.total - Order.credited_total), 0)).where(
            Order.budget_period_id == period_id, Order.status != "cancelled"
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def committed_and_spent(
        self, period_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """`committed` and `spent` of many periods at once (0 for a period without orders)."""
        if not period_ids:
            return {}
        committed = select(
            Order.budget_period_id, func.sum(Order.total - Order.credited_total)
        ).where(Order.budget_period_id.in_(period_ids), Order.status != "cancelled")
        spent = (
            select(
                Order.budget_period_id,
                func.sum(OrderLeg.subtotal + OrderLeg.vat_amount - OrderLeg.credited_amount),
            )
            .join(Order, Order.id == OrderLeg.order_id)
            .where(Order.budget_period_id.in_(period_ids), OrderLeg.status == "delivered")
        )
        figures = {i: [0, 0] for i in period_ids}
        for column, stmt in ((0, committed), (1, spent)):
            rows = await self.session.execute(stmt.group_by(Order.budget_period_id))
            for period_id, amount in rows:
                assert period_id is not None  # the IN (…) keeps orders without one out
                figures[period_id][column] = int(amount)
        return {i: (c, s) for i, (c, s) in figures.items()}

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
        """The templates the H-1 job places: not paused, not deleted."""
        stmt = (
            select(StandingOrder)
            .where(StandingOrder.active.is_(True), StandingOrder.deleted_at.is_(None))
            .order_by(StandingOrder.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def of_buyer(self, buyer_id: uuid.UUID) -> list[StandingOrder]:
        stmt = (
            select(StandingOrder)
            .where(
                StandingOrder.buyer_organization_id == buyer_id,
                StandingOrder.deleted_at.is_(None),
            )
            .order_by(StandingOrder.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def record_run(
        self,
        standing_order_id: uuid.UUID,
        delivery_date: dt.date,
        *,
        order_id: uuid.UUID | None,
        problem_code: str | None = None,
        problem_detail: str | None = None,
    ) -> None:
        """The job's latest outcome for (template, date); a retry counts an attempt."""
        runs = _RUNS
        values = {
            "standing_order_id": standing_order_id,
            "delivery_date": delivery_date,
            "outcome": "placed" if order_id is not None else "failed",
            "order_id": order_id,
            "problem_code": problem_code,
            "problem_detail": problem_detail,
            "attempts": 1,
        }
        stmt = pg_insert(runs).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[runs.c.standing_order_id, runs.c.delivery_date],
            set_={
                "outcome": stmt.excluded.outcome,
                "order_id": stmt.excluded.order_id,
                "problem_code": stmt.excluded.problem_code,
                "problem_detail": stmt.excluded.problem_detail,
                "attempts": runs.c.attempts + 1,
                "updated_at": func.now(),
            },
        )
        await self.session.execute(stmt)

    async def recent_runs(
        self, standing_order_ids: Sequence[uuid.UUID], per_order: int
    ) -> dict[uuid.UUID, list[StandingOrderRun]]:
        """The latest `per_order` runs of each template, newest delivery date first."""
        if not standing_order_ids:
            return {}
        ranked = (
            select(
                StandingOrderRun,
                func.row_number()
                .over(
                    partition_by=StandingOrderRun.standing_order_id,
                    order_by=StandingOrderRun.delivery_date.desc(),
                )
                .label("rank"),
            )
            .where(StandingOrderRun.standing_order_id.in_(standing_order_ids))
            .subquery()
        )
        latest = aliased(StandingOrderRun, ranked)
        stmt = (
            select(latest)
            .where(ranked.c.rank <= per_order)
            .order_by(latest.standing_order_id, latest.delivery_date.desc())
        )
        found: dict[uuid.UUID, list[StandingOrderRun]] = {i: [] for i in standing_order_ids}
        for run in (await self.session.execute(stmt)).scalars():
            found[run.standing_order_id].append(run)
        return found
