"""The queries of a consignor's position: the goods a cooperative holds for it, what sold
this week and this cycle, what came back, what expires, and what the next statement will
pay so far. Read-only; never commits.

"This cycle" is what no statement covers yet: the records numbered above the pair's chain
head (`SettlementRepository.settled_up_to`), so the figures are exactly what the next run
would settle. "This week" is from Monday in the cooperative's own calendar.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, Integer, String, case, cast, column, func, or_, select, table
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts import Scope
from marketplace.consignment.models import Adjustment, Agreement, Intake, Return, Sale, Statement
from marketplace.consignment.repository import ORGANIZATION_ZONES, local_date_in

# A consigned listing's stock, read for the consignor's view (the listings context owns it).
LISTING_STOCK = table(
    "listings",
    column("id", PG_UUID),
    column("on_hand", Integer),
    column("reserved", Integer),
    column("base_unit_price", Integer),
    column("status", String),
)

# Days before its expiry date from which a consigned intake is flagged to the consignor.
EXPIRY_WARNING_DAYS = 7


def _head(model: Any) -> Any:
    """The pair's chain head: records numbered above it are in no statement yet."""
    return (
        select(func.coalesce(func.max(Statement.to_seq), 0))
        .where(
            Statement.cooperative_id == model.cooperative_id,
            Statement.consignor_id == model.consignor_id,
        )
        .scalar_subquery()
    )


def _party(model: Any, scope: Scope, stmt: Any) -> Any:
    return scope.narrow(
        stmt, lambda org: or_(model.cooperative_id == org, model.consignor_id == org)
    )


class PositionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def held_listings(self, *, scope: Scope) -> list[Any]:
        """(cooperative, consignor, listing, product, on_hand, reserved, price) of every
        listing an intake of the scope's party filled."""
        stmt = (
            select(
                Intake.cooperative_id,
                Intake.consignor_id,
                Intake.listing_id,
                Intake.product_id,
                LISTING_STOCK.c.on_hand,
                LISTING_STOCK.c.reserved,
                LISTING_STOCK.c.base_unit_price,
            )
            .join(LISTING_STOCK, LISTING_STOCK.c.id == Intake.listing_id)
            .where(Intake.status == "confirmed")
            .distinct()
            .order_by(Intake.cooperative_id, Intake.listing_id)
        )
        return list(await self.session.execute(_party(Intake, scope, stmt)))

    async def sales_by_listing(self, *, scope: Scope, now: dt.datetime) -> list[Any]:
        """(listing, sold this week, sold this cycle, cycle gross, cycle commission)."""
        zone = ORGANIZATION_ZONES.c.time_zone
        monday = cast(func.date_trunc("week", local_date_in(now, zone)), Date)
        this_week = cast(func.timezone(zone, Sale.sold_at), Date) >= monday
        this_cycle = Sale.seq > _head(Sale)
        stmt = (
            select(
                Sale.listing_id,
                func.coalesce(func.sum(case((this_week, Sale.quantity), else_=0)), 0),
                func.coalesce(func.sum(case((this_cycle, Sale.quantity), else_=0)), 0),
                func.coalesce(func.sum(case((this_cycle, Sale.gross_amount), else_=0)), 0),
                func.coalesce(func.sum(case((this_cycle, Sale.commission_amount), else_=0)), 0),
            )
            .where(ORGANIZATION_ZONES.c.id == Sale.cooperative_id)
            .group_by(Sale.listing_id)
        )
        return list(await self.session.execute(_party(Sale, scope, stmt)))

    async def returns_by_listing(self, *, scope: Scope) -> list[Any]:
        """(listing, returned this cycle, returned ever)."""
        this_cycle = Return.seq > _head(Return)
        stmt = select(
            Return.listing_id,
            func.coalesce(func.sum(case((this_cycle, Return.quantity), else_=0)), 0),
            func.sum(Return.quantity),
        ).group_by(Return.listing_id)
        return list(await self.session.execute(_party(Return, scope, stmt)))

    async def expiring_intakes(self, *, scope: Scope, now: dt.datetime) -> list[Intake]:
        """Confirmed intakes with goods still held whose expiry date is within the warning
        days of today in their cooperative's calendar (or past), soonest first."""
        zone = ORGANIZATION_ZONES.c.time_zone
        stmt = (
            select(Intake)
            .where(
                ORGANIZATION_ZONES.c.id == Intake.cooperative_id,
                Intake.status == "confirmed",
                Intake.expiry_date.is_not(None),
                Intake.expiry_date <= local_date_in(now, zone) + EXPIRY_WARNING_DAYS,
                Intake.returned_quantity < Intake.received_quantity,
            )
            .order_by(Intake.expiry_date, Intake.id)
        )
        return list((await self.session.scalars(_party(Intake, scope, stmt))).all())

    async def cycle_totals(self, *, scope: Scope) -> list[Any]:
        """Per agreement of the scope's party: (agreement, opening balance, unsettled gross,
        commission, adjustments, next settlement date in the cooperative's calendar)."""
        zone = ORGANIZATION_ZONES.c.time_zone
        pair = (
            Sale.cooperative_id == Agreement.cooperative_id,
            Sale.consignor_id == Agreement.consignor_id,
        )
        head = (
            select(func.coalesce(func.max(Statement.to_seq), 0))
            .where(
                Statement.cooperative_id == Agreement.cooperative_id,
                Statement.consignor_id == Agreement.consignor_id,
            )
            .scalar_subquery()
        )
        opening = (
            select(Statement.closing_balance)
            .where(
                Statement.cooperative_id == Agreement.cooperative_id,
                Statement.consignor_id == Agreement.consignor_id,
            )
            .order_by(Statement.to_seq.desc())
            .limit(1)
            .scalar_subquery()
        )
        gross = (
            select(func.coalesce(func.sum(Sale.gross_amount), 0))
            .where(*pair, Sale.seq > head)
            .scalar_subquery()
        )
        commission = (
            select(func.coalesce(func.sum(Sale.commission_amount), 0))
            .where(*pair, Sale.seq > head)
            .scalar_subquery()
        )
        adjustments = (
            select(func.coalesce(func.sum(Adjustment.amount), 0))
            .where(
                Adjustment.cooperative_id == Agreement.cooperative_id,
                Adjustment.consignor_id == Agreement.consignor_id,
                Adjustment.seq > head,
            )
            .scalar_subquery()
        )
        reference = func.coalesce(Agreement.last_settled_at, Agreement.created_at)
        next_day = cast(func.timezone(zone, reference), Date) + cast(
            Agreement.settlement_cycle_days, Integer
        )
        stmt = (
            select(
                Agreement,
                func.coalesce(opening, 0),
                gross,
                commission,
                adjustments,
                next_day,
            )
            .where(ORGANIZATION_ZONES.c.id == Agreement.cooperative_id)
            .order_by(Agreement.cooperative_id, Agreement.id)
        )
        return list(await self.session.execute(_party(Agreement, scope, stmt)))
