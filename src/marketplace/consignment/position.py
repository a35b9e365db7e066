"""A consignor's position at its cooperatives, for the UMKM owner's pages: the goods each
holds, what sold this week and this cycle, what came back, what expires soon, and what the
next statement pays so far. Never commits; reads only what the caller is a party to (the
consignor sees its own, a cooperative the goods it holds).
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from marketplace import clock
from marketplace.accounts import Principal
from marketplace.consignment.models import Agreement, Intake
from marketplace.consignment.position_repository import EXPIRY_WARNING_DAYS, PositionRepository
from marketplace.db import UnitOfWork


class Holding(msgspec.Struct, frozen=True, kw_only=True):
    """One consigned listing: the consignor's goods of one product at one cooperative."""

    cooperative_id: uuid.UUID
    consignor_id: uuid.UUID
    listing_id: uuid.UUID
    product_id: uuid.UUID
    unit_price: int
    on_hand: int
    reserved: int
    sold_this_week: int
    sold_this_cycle: int
    returned_this_cycle: int
    returned_ever: int
    expiring: list[Intake]


class CycleOutlook(msgspec.Struct, frozen=True, kw_only=True):
    """What the next statement of an agreement pays so far (sales no statement covers)."""

    agreement: Agreement
    next_settlement: dt.date
    opening_balance: int
    gross: int
    commission: int
    adjustments: int

    @property
    def net(self) -> int:
        return self.gross - self.commission

    @property
    def payable(self) -> int:
        """What a run now would pay out (never below zero: a debt carries forward)."""
        return max(0, self.opening_balance + self.net + self.adjustments)


class ConsignmentPosition:
    def __init__(self, uow: UnitOfWork) -> None:
        self.repo = PositionRepository(uow.session)

    async def holdings(self, principal: Principal) -> list[Holding]:
        scope = principal.scope
        now = clock.now()
        sales = {r[0]: r[1:] for r in await self.repo.sales_by_listing(scope=scope, now=now)}
        returns = {r[0]: r[1:] for r in await self.repo.returns_by_listing(scope=scope)}
        expiring: dict[uuid.UUID, list[Intake]] = {}
        for intake in await self.repo.expiring_intakes(scope=scope, now=now):
            if intake.listing_id is not None:
                expiring.setdefault(intake.listing_id, []).append(intake)
        found = []
        for (
            coop,
            consignor,
            listing,
            product,
            on_hand,
            reserved,
            price,
        ) in await self.repo.held_listings(scope=scope):
            sold = sales.get(listing, (0, 0, 0, 0))
            back = returns.get(listing, (0, 0))
            found.append(
                Holding(
                    cooperative_id=coop,
                    consignor_id=consignor,
                    listing_id=listing,
                    product_id=product,
                    unit_price=int(price),
                    on_hand=int(on_hand),
                    reserved=int(reserved),
                    sold_this_week=int(sold[0]),
                    sold_this_cycle=int(sold[1]),
                    returned_this_cycle=int(back[0]),
                    returned_ever=int(back[1] or 0),
                    expiring=expiring.get(listing, []),
                )
            )
        return found

    async def outlook(self, principal: Principal) -> list[CycleOutlook]:
        return [
            CycleOutlook(
                agreement=agreement,
                opening_balance=int(opening),
                gross=int(gross),
                commission=int(commission),
                adjustments=int(adjustments),
                next_settlement=next_day,
            )
            for agreement, opening, gross, commission, adjustments, next_day in (
                await self.repo.cycle_totals(scope=principal.scope)
            )
        ]


__all__ = ["EXPIRY_WARNING_DAYS", "ConsignmentPosition", "CycleOutlook", "Holding"]
