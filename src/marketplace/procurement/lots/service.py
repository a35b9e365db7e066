"""Bulog purchase lots: reading them, closing them into purchase orders, receiving them and
releasing the goods to the waiting legs. (Pooling legs into lots is `lots/pooling.py`.)

Where the goods go (so a leg never moves stock twice): on receipt, what the allocation
releases to legs is received into the cooperative's `bulog_lot` listing (`on_hand`) and
reserved there at once; shipping a released leg then moves exactly its released quantity
out of that listing (`orders.service.ship`), like a stock leg. The rounding surplus and
anything received beyond the demand become the cooperative's own stock on its `stock`
listing of the product (opened at the Bulog listing's prices if it has none).

A leg that a short receipt released only in part ships what it got; the buyer's goods
receipt then records the short delivery and the order is credited as for any short leg.
A leg that got nothing is reported as unfilled and keeps waiting (`orders.leg_waits_for_lot`).

Lock order: listings before lots, as placement takes them (stock reserved, then pooled), so
a receipt moves stock first and locks its lot last.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import msgspec

from marketplace import clock
from marketplace.accounts import Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import NotFound, PermissionDenied
from marketplace.ids import new_id
from marketplace.listings import ListingService, StockService
from marketplace.listings.domain import MovementKind
from marketplace.procurement.domain.errors import ReceiptExceedsOrder
from marketplace.procurement.lots import events as lot_events
from marketplace.procurement.lots.domain import (
    BulogOrderStatus,
    LotChanged,
    LotCloseReason,
    LotEmpty,
    LotNotAwaitingDelivery,
    LotNotOpen,
    LotStatus,
    aggregation,
)
from marketplace.procurement.lots.models import BulogDemandLine, BulogLot, BulogPurchaseOrder
from marketplace.procurement.lots.own_stock import OwnStock
from marketplace.procurement.lots.repository import LotRepository

DUE_BATCH = 200


class LotView(msgspec.Struct, frozen=True, kw_only=True):
    lot: BulogLot
    lines: list[BulogDemandLine]
    purchase_order: BulogPurchaseOrder | None


class ReceiptResult(msgspec.Struct, frozen=True, kw_only=True):
    view: LotView
    allocation: aggregation.ReceiptAllocation
    surplus_listing_id: uuid.UUID | None


def _now() -> dt.datetime:
    return clock.now()


class LotService:
    """Reading, closing and receiving lots (API and worker)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.lots = LotRepository(uow.session)

    # --- reading -------------------------------------------------------------------

    async def _view(self, lot: BulogLot) -> LotView:
        return LotView(
            lot=lot,
            lines=await self.lots.demand_lines(lot.id),
            purchase_order=await self.lots.purchase_order(lot.id),
        )

    async def get(self, principal: Principal, lot_id: uuid.UUID) -> LotView:
        lot = await self.lots.get(lot_id)
        if lot is None or not principal.is_party(
            lot.cooperative_organization_id, lot.bulog_organization_id
        ):
            raise NotFound("No such Bulog lot.")
        return await self._view(lot)

    async def page(
        self, principal: Principal, *, status: str | None, after: uuid.UUID | None, limit: int
    ) -> list[BulogLot]:
        return await self.lots.page(
            scope=principal.scope,
            status=status,
            after=after,
            limit=limit,
        )

    # --- closing --------------------------------------------------------------------

    async def _managed(
        self, principal: Principal, lot_id: uuid.UUID, *, lock: bool = True
    ) -> BulogLot:
        """The lot (locked unless asked not to) if the caller is its cooperative."""
        lot = await self.lots.get(lot_id, for_update=lock)
        if lot is None or not principal.is_party(
            lot.cooperative_organization_id, lot.bulog_organization_id
        ):
            raise NotFound("No such Bulog lot.")
        if not principal.is_party(lot.cooperative_organization_id):
            raise PermissionDenied("Only the lot's cooperative may do this.")
        principal.require_role(Role.SELLER)
        return lot

    async def submit(self, principal: Principal, lot_id: uuid.UUID) -> LotView:
        """Close an open lot before its cut-off."""
        lot = await self._managed(principal, lot_id)
        if lot.status != LotStatus.OPEN:
            raise LotNotOpen("The lot was already closed.", status=lot.status)
        if lot.total_demand == 0:
            raise LotEmpty("The lot has no demand yet.")
        await self._close(lot, LotCloseReason.SUBMITTED, _now())
        return await self._view(lot)

    async def close_due(self, now: dt.datetime | None = None) -> int:
        """Close every open lot past its cut-off or full (worker cron). Each lot is
        re-checked under its row lock, so runs on several workers never close one twice."""
        now = now or _now()
        closed = 0
        for lot_id in await self.lots.due_lot_ids(now, DUE_BATCH):
            lot = await self.lots.get(lot_id, for_update=True)
            if lot is None or lot.status != LotStatus.OPEN:
                continue
            full = lot.total_demand >= lot.lot_size
            if not aggregation.should_close(lot.total_demand, lot.lot_size, lot.cutoff_at, now):
                continue
            await self._close(lot, LotCloseReason.FULL if full else LotCloseReason.CUTOFF, now)
            closed += 1
        return closed

    async def _close(self, lot: BulogLot, reason: LotCloseReason, now: dt.datetime) -> None:
        order = aggregation.lot_order_quantity(lot.total_demand, lot.lot_unit)
        lot.closed_at = now
        lot.close_reason = reason
        lot.order_quantity = order.order_quantity
        lot.surplus = order.surplus
        if order.order_quantity == 0:
            lot.status = LotStatus.CANCELLED  # nothing to buy
            await self.lots.flush()
            lot_events.closed(self.uow, lot)
            return
        lot.status = LotStatus.CLOSED
        po = BulogPurchaseOrder(
            id=new_id(),
            lot_id=lot.id,
            bulog_organization_id=lot.bulog_organization_id,
            cooperative_organization_id=lot.cooperative_organization_id,
            product_id=lot.product_id,
            quantity=order.order_quantity,
            unit_price=lot.unit_price,
            total=order.order_quantity * lot.unit_price,
            status=BulogOrderStatus.SENT,
        )
        self.lots.add_all([po])
        await self.lots.flush()
        lot_events.closed(self.uow, lot)
        lot_events.submitted(self.uow, lot, po)

    # --- receiving -----------------------------------------------------------------

    async def receive(
        self, principal: Principal, lot_id: uuid.UUID, received: int, note: str | None
    ) -> ReceiptResult:
        """Listings are locked before the lot, the order placement takes them in (stock
        reserved, then the lot pooled into), so the two never deadlock: the stock moves are
        made first, then the lot is locked and checked unchanged before it is marked."""
        lot = await self._managed(principal, lot_id, lock=False)
        serialized = await self.lots.serialize_receipts(lot.id)
        assert serialized is not None
        lot = serialized
        if lot.status != LotStatus.CLOSED:
            raise LotNotAwaitingDelivery(
                "Only a closed lot awaiting delivery can be received.", status=lot.status
            )
        assert lot.order_quantity is not None
        if received > lot.order_quantity:
            raise ReceiptExceedsOrder(
                f"Received {received} but the lot ordered {lot.order_quantity}.",
                ordered=lot.order_quantity,
                received=received,
            )
        lines = await self.lots.demand_lines(lot.id)
        waiting = _waiting(lines)  # a snapshot: re-reading refreshes the same objects
        allocation = aggregation.allocate_receipt(
            [
                aggregation.DemandLine(
                    leg_id=line.leg_id,
                    order_id=line.order_id,
                    ordered_at=line.ordered_at,
                    quantity=line.quantity,
                )
                for line in lines
                if line.withdrawn_at is None
            ],
            received,
        )
        reference = f"bulog_lot:{lot.id}"
        listings = ListingService(self.uow)
        if allocation.released_total:
            listing, _ = await listings.get(principal, lot.listing_id)
            await listings.move(
                listing,
                MovementKind.RECEIVE,
                allocation.released_total,
                principal,
                "Bulog lot received",
                reference,
            )
            await StockService(self.uow).reserve(
                [(lot.listing_id, allocation.released_total)],
                reference=reference,
                principal=principal,
            )
        surplus_listing_id = None
        if allocation.surplus:
            surplus_listing_id = await self._receive_surplus(
                principal, lot, allocation.surplus, reference
            )
        locked = await self.lots.get(lot.id, for_update=True)
        assert locked is not None
        fresh = await self.lots.demand_lines(lot.id)
        if locked.status != LotStatus.CLOSED:
            raise LotNotAwaitingDelivery(
                "Only a closed lot awaiting delivery can be received.", status=locked.status
            )
        if _waiting(fresh) != waiting:
            raise LotChanged("An order in the lot was cancelled meanwhile; try again.")
        await self.lots.record_releases(
            [(r.leg_id, r.released, r.unfilled) for r in allocation.releases]
        )
        lot.status = LotStatus.RECEIVED
        lot.received_quantity = received
        lot.received_at = _now()
        lot.receipt_note = note
        po = await self.lots.purchase_order(lot.id)
        if po is not None:
            po.status = BulogOrderStatus.RECEIVED
        await self.lots.flush()
        lot_events.received(self.uow, lot, po, allocation)
        return ReceiptResult(
            view=LotView(lot=lot, lines=await self.lots.demand_lines(lot.id), purchase_order=po),
            allocation=allocation,
            surplus_listing_id=surplus_listing_id,
        )

    async def _receive_surplus(
        self, principal: Principal, lot: BulogLot, quantity: int, reference: str
    ) -> uuid.UUID:
        """The surplus becomes the cooperative's own stock on its `stock` listing."""
        return await OwnStock(self.uow).receive(
            lot, quantity, principal, "Bulog lot surplus", reference
        )


def _waiting(lines: Sequence[BulogDemandLine]) -> list[uuid.UUID]:
    return [line.leg_id for line in lines if line.withdrawn_at is None]


__all__ = ["LotService", "LotView", "ReceiptResult"]
