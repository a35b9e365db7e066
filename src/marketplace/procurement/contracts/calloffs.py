"""Call-offs of trade-contract volume: the API orders uses (`ContractCalloffs`).

Weekly volume. Each allotment's weekly quantity is what it may give per ISO week. Orders
call it off at placement (`ContractCalloffs.call_off`, one conditional UPDATE per order,
allotments locked in id order), in the week of the order's delivery date; direct shipments
recorded by a supplier (`contracts/service.py`) take volume the same way. So called-off
volume never exceeds an allotment, however many orders race for it.

A placement locks the allotments that could serve it *before* it reads their volume
(`offers(..., lock=True)`), so the volume it plans with is what it calls off: an order
that loses the race for the week's volume learns so from the read — an honest
`orders.insufficient_supply` with the figures — not from a refused call-off that a retry
would turn into that answer. Allotments are therefore locked before the order's listings
(and before them on cancellation too).

Levy. Each call-off leg carries its levy (`levy_bps` of the leg's subtotal, computed by the
split). It is posted to the ledger when the supplier ships the leg (`ContractCalloffs.shipped`,
called from `orders.service.ship`) as `postings.levy` with reference ``levy:<leg id>``: the
supplier's payable is debited, the trade center's levy payable credited. A cancelled
call-off never shipped, so never carries a posted levy.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

import msgspec

from marketplace.db import UnitOfWork
from marketplace.ids import new_id
from marketplace.ledger import LedgerService, postings
from marketplace.listings import StockChanged
from marketplace.procurement.contracts import events as contract_events
from marketplace.procurement.contracts.domain import TRADE_CONTRACT_KIND, VolumeExhausted
from marketplace.procurement.contracts.domain.weeks import week_start
from marketplace.procurement.contracts.models import TradeShipment
from marketplace.procurement.contracts.repository import ContractRepository


class ContractOffer(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What one supplier's allotment can still deliver in a week, at the contract's terms
    (orders turns it into a split source, as it does listings)."""

    contract_id: uuid.UUID
    allotment_id: uuid.UUID
    product_id: uuid.UUID
    supplier_organization_id: uuid.UUID
    counterparty_city_code: str
    remaining: int
    unit_price: int
    levy_bps: int
    supplier_region_code: str


class CallOffLeg(Protocol):
    """What call-offs need of an order leg (the orders context's `OrderLeg` fits)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def kind(self) -> str: ...
    @property
    def contract_id(self) -> uuid.UUID | None: ...
    @property
    def allotment_id(self) -> uuid.UUID | None: ...
    @property
    def supplier_organization_id(self) -> uuid.UUID: ...
    @property
    def quantity(self) -> int: ...
    @property
    def subtotal(self) -> int: ...
    @property
    def levy_amount(self) -> int: ...


class ContractCalloffs:
    """The public API orders uses: offers for the split, call-offs, shipped call-offs."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.contracts = ContractRepository(uow.session)

    async def offers(
        self,
        product_ids: Sequence[uuid.UUID],
        delivery_region: str,
        delivery_date: dt.date,
        *,
        lock: bool = False,
    ) -> list[ContractOffer]:
        """Allotments with volume left in the delivery week for an order delivered to
        `delivery_region`. With `lock` (placing, not previewing) every allotment that
        could serve it is locked first, until the transaction ends: the volume read is
        then exact, and `call_off` of what was planned from it cannot be refused."""
        if lock:
            await self.contracts.lock_covering_allotments(
                product_ids, delivery_region, delivery_date
            )
        rows = await self.contracts.sources(
            product_ids, delivery_region, delivery_date, week_start(delivery_date)
        )
        return [
            ContractOffer(
                contract_id=r.contract_id,
                allotment_id=r.allotment_id,
                product_id=r.product_id,
                supplier_organization_id=r.supplier_id,
                counterparty_city_code=r.city_code,
                remaining=r.remaining,
                unit_price=r.unit_price,
                levy_bps=r.levy_bps,
                supplier_region_code=r.supplier_region_code,
            )
            for r in rows
        ]

    async def call_off(self, legs: Sequence[CallOffLeg], delivery_date: dt.date) -> None:
        """Take the trade-contract legs' volume from their allotments in the delivery
        week, atomically. The placement read that volume under the allotments' locks, so
        a refusal (`StockChanged`, the placement retries) is only a defence."""
        per_allotment: dict[uuid.UUID, int] = defaultdict(int)
        for leg in legs:
            if leg.kind == TRADE_CONTRACT_KIND and leg.allotment_id is not None:
                per_allotment[leg.allotment_id] += leg.quantity
        if not per_allotment:
            return
        week = week_start(delivery_date)
        await self.contracts.lock_allotments(list(per_allotment))
        rows = [(a, week, q) for a, q in sorted(per_allotment.items())]
        taken = await self.contracts.call_off(rows)
        if len(taken) != len(rows):
            raise StockChanged(
                "A trade contract's weekly volume changed; the call-off was refused.",
                allotment_ids=[str(a) for a, _, _ in rows if a not in taken],
            )

    async def cancelled(self, legs: Sequence[CallOffLeg], delivery_date: dt.date) -> None:
        """Give cancelled (never shipped) call-offs' volume back to their allotments."""
        per_allotment: dict[uuid.UUID, int] = defaultdict(int)
        for leg in legs:
            if leg.kind == TRADE_CONTRACT_KIND and leg.allotment_id is not None:
                per_allotment[leg.allotment_id] += leg.quantity
        if per_allotment:
            week = week_start(delivery_date)
            await self.contracts.lock_allotments(list(per_allotment))
            await self.contracts.give_back([(a, week, q) for a, q in sorted(per_allotment.items())])

    async def shipped(self, leg: CallOffLeg, delivery_date: dt.date) -> None:
        """A call-off leg shipped: record the shipment against its allotment and post its
        levy. Idempotent per leg."""
        if leg.kind != TRADE_CONTRACT_KIND or leg.contract_id is None or leg.allotment_id is None:
            return
        if await self.contracts.shipment_of_leg(leg.id) is not None:
            return
        contract = await self.contracts.get(leg.contract_id)
        assert contract is not None
        week = week_start(delivery_date)
        await self.contracts.lock_allotments([leg.allotment_id])
        if not await self.contracts.add_shipped(leg.allotment_id, week, leg.quantity):
            raise VolumeExhausted("The call-off is not on record for its week.", leg_id=str(leg.id))
        shipment = TradeShipment(
            id=new_id(),
            contract_id=contract.id,
            allotment_id=leg.allotment_id,
            week_start=week,
            quantity=leg.quantity,
            amount=leg.subtotal,
            levy_amount=leg.levy_amount,
            order_leg_id=leg.id,
            reference=f"leg:{leg.id}",
        )
        self.contracts.add_all([shipment])
        await self.contracts.flush()
        contract_events.shipment_recorded(
            self.uow, contract, leg.supplier_organization_id, shipment
        )
        if leg.levy_amount > 0:
            await LedgerService(self.uow).post(
                postings.levy(
                    leg.id,
                    contract.trade_center_organization_id,
                    leg.supplier_organization_id,
                    leg.levy_amount,
                )
            )


__all__ = ["CallOffLeg", "ContractCalloffs", "ContractOffer"]
