"""Order lifecycle use cases: read, list, cancel, ship a leg, receive a leg.

Every change locks the order row first, so concurrent changes to one order's legs are
serialised; each transition is checked by the pure state machines in `lifecycle.py`.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from marketplace import outbox
from marketplace.accounts import Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.ledger import LedgerService, postings
from marketplace.listings import StockService
from marketplace.orders.domain import lifecycle
from marketplace.orders.domain.events import OrderCancelled, OrderLegDelivered, OrderLegShipped
from marketplace.orders.domain.lifecycle import LegEvent, LegStatus, OrderStatus
from marketplace.orders.domain.splitting import LegKind
from marketplace.orders.models import Order, OrderLeg, OrderLine
from marketplace.orders.repository import OrderRepository
from marketplace.procurement import ContractCalloffs, LotPooling
from marketplace.tax import vat_for


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    order: Order
    lines: list[OrderLine]
    legs: list[OrderLeg]  # only the legs the caller may see


class LegFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What other contexts (consignment) may read of a leg."""

    id: uuid.UUID
    order_id: uuid.UUID
    kind: str
    status: str
    listing_id: uuid.UUID | None
    product_id: uuid.UUID
    supplier_organization_id: uuid.UUID
    owner_organization_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    quantity: int
    delivered_quantity: int | None
    unit_price: int
    vat_treatment: str
    delivered_at: dt.datetime | None


class TradeTotal(msgspec.Struct, frozen=True, kw_only=True):
    """The delivered legs of one trading partner in a period."""

    party_id: uuid.UUID
    legs: int
    quantity: int
    value: int


class NotCancellable(Conflict):
    code = "orders.not_cancellable"


class LegWaitsForLot(Conflict):
    code = "orders.leg_waits_for_lot"


class ReceivedTooMuch(ValidationFailed):
    code = "orders.received_more_than_shipped"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OrderService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.orders = OrderRepository(uow.session)
        self.stock = StockService(uow)

    # --- reading -------------------------------------------------------------------

    @staticmethod
    def visible_legs(principal: Principal, order: Order, legs: list[OrderLeg]) -> list[OrderLeg]:
        if principal.is_party(order.buyer_organization_id):
            return legs
        return [leg for leg in legs if leg.supplier_organization_id == principal.organization_id]

    async def view(self, principal: Principal, order_id: uuid.UUID) -> OrderView:
        order = await self.orders.get(order_id)
        if order is None:
            raise NotFound("No such order.")
        legs = self.visible_legs(principal, order, await self.orders.legs(order_id))
        if not legs and not principal.is_party(order.buyer_organization_id):
            raise NotFound("No such order.")
        return OrderView(order=order, lines=await self.orders.lines(order_id), legs=legs)

    async def orders_of(
        self,
        principal: Principal,
        *,
        status: OrderStatus | None,
        after: uuid.UUID | None,
        limit: int,
        delivery_date: dt.date | None = None,
    ) -> list[OrderView]:
        """`delivery_date`: only the orders to be delivered that day (a buyer's day page)."""
        orders = await self.orders.orders_page(
            scope=principal.scope,
            status=status.value if status else None,
            after=after,
            limit=limit,
            delivery_date=delivery_date,
        )
        ids = [o.id for o in orders]
        legs_by: dict[uuid.UUID, list[OrderLeg]] = {i: [] for i in ids}
        for leg in await self.orders.legs_of_orders(ids):
            legs_by[leg.order_id].append(leg)
        lines_by: dict[uuid.UUID, list[OrderLine]] = {i: [] for i in ids}
        for line in await self.orders.lines_of_orders(ids):
            lines_by[line.order_id].append(line)
        return [OrderView(order=o, lines=lines_by[o.id], legs=legs_by[o.id]) for o in orders]

    async def work_queue(
        self,
        principal: Principal,
        *,
        status: LegStatus | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[OrderLeg]:
        return await self.orders.legs_page(
            scope=principal.scope,
            status=status.value if status else None,
            after=after,
            limit=limit,
        )

    async def legs_due(
        self, principal: Principal, delivery_dates: list[dt.date], statuses: list[LegStatus]
    ) -> list[tuple[OrderLeg, dt.date]]:
        """The caller's legs to supply for those delivery dates, in those states, ordered
        by date and buyer, each with its delivery date (a clerk's picking list)."""
        return await self.orders.supplier_legs_due(
            scope=principal.scope,
            delivery_dates=delivery_dates,
            statuses=[s.value for s in statuses],
        )

    async def trade_totals(
        self, principal: Principal, start: dt.date, end: dt.date
    ) -> tuple[list[TradeTotal], list[TradeTotal]]:
        """What the caller sold (per buyer) and bought (per supplier), delivered for
        delivery dates in [start, end], with the value the buyer pays (VAT in, credits out)."""
        sold, bought = await self.orders.trade_totals(scope=principal.scope, start=start, end=end)
        return (
            [TradeTotal(party_id=p, legs=n, quantity=q, value=v) for p, n, q, v in sold],
            [TradeTotal(party_id=p, legs=n, quantity=q, value=v) for p, n, q, v in bought],
        )

    async def leg_facts(self, leg_id: uuid.UUID) -> LegFacts | None:
        """A leg's facts for another context's event handler (no authorization)."""
        leg = await self.orders.leg(leg_id)
        if leg is None:
            return None
        return msgspec.convert(leg, LegFacts, from_attributes=True)

    # --- changes -------------------------------------------------------------------

    async def cancel(self, principal: Principal, order_id: uuid.UUID) -> OrderView:
        order = await self.orders.get(order_id, for_update=True)
        if order is None or not principal.is_party(order.buyer_organization_id):
            raise NotFound("No such order.")
        principal.require_role(Role.BUYER)
        legs = await self.orders.legs(order_id, for_update=True)
        statuses = [leg.status for leg in legs]
        if order.status == OrderStatus.CANCELLED:
            return OrderView(order=order, lines=await self.orders.lines(order_id), legs=legs)
        if not lifecycle.can_cancel_order(statuses):
            raise NotCancellable(
                "Only an order with nothing shipped yet can be cancelled.",
                status=order.status,
            )
        # Trade-contract volume back first: a placement locks allotments before listings,
        # so taking them in the same order here keeps the two from deadlocking.
        await ContractCalloffs(self.uow).cancelled(legs, order.delivery_date)
        await self.stock.release(
            [
                (leg.listing_id, leg.quantity)
                for leg in legs
                if leg.listing_id is not None
                and leg.kind in (LegKind.STOCK, LegKind.CONSIGNMENT)
                and leg.status == LegStatus.RESERVED
            ],
            reference=f"order:{order.id}",
            principal=principal,
        )
        # Procurement: withdraw pooled Bulog demand.
        await LotPooling(self.uow).withdraw(legs, principal=principal)
        now = _now()
        for leg in legs:
            leg.status = lifecycle.next_leg_status(leg.status, LegEvent.CANCEL)
            leg.cancelled_at = now
        order.status = OrderStatus.CANCELLED
        await self.orders.flush()
        parties = {order.buyer_organization_id, *(leg.supplier_organization_id for leg in legs)}
        for organization_id in sorted(parties):
            outbox.emit(
                self.uow, OrderCancelled(order_id=order.id), organization_id=organization_id
            )
        return OrderView(order=order, lines=await self.orders.lines(order_id), legs=legs)

    async def _leg_for(
        self, principal: Principal, leg_id: uuid.UUID, *, as_supplier: bool
    ) -> tuple[Order, OrderLeg]:
        found = await self.orders.lock_order_of_leg(leg_id)
        if found is None:
            raise NotFound("No such leg.")
        order, leg = found
        party = leg.supplier_organization_id if as_supplier else order.buyer_organization_id
        if not principal.is_party(party):
            raise NotFound("No such leg.")
        principal.require_role(Role.SELLER if as_supplier else Role.BUYER)
        return order, leg

    async def _refresh_status(self, order: Order) -> None:
        legs = await self.orders.legs(order.id)
        order.status = lifecycle.derive_order_status([leg.status for leg in legs])

    async def ship(self, principal: Principal, leg_id: uuid.UUID) -> OrderLeg:
        order, leg = await self._leg_for(principal, leg_id, as_supplier=True)
        new_status = lifecycle.next_leg_status(leg.status, LegEvent.SHIP)
        shipped = leg.quantity
        if leg.kind == LegKind.BULOG_LOT:
            # Procurement releases the leg when its lot is received: the released units were
            # received into the Bulog listing and reserved for it, so shipping moves them out
            # like a stock leg (only what was released, if the lot came short).
            released = await LotPooling(self.uow).released_quantity(leg.id)
            if not released or leg.listing_id is None:
                raise LegWaitsForLot(
                    "This leg ships when its Bulog purchase lot has been received.", leg_id=leg.id
                )
            await self.stock.ship(
                [(leg.listing_id, released)], reference=f"leg:{leg.id}", principal=principal
            )
            shipped = released
        if leg.listing_id is not None and leg.kind in (LegKind.STOCK, LegKind.CONSIGNMENT):
            await self.stock.ship(
                [(leg.listing_id, leg.quantity)], reference=f"leg:{leg.id}", principal=principal
            )
        # A trade-contract call-off: recorded as shipped against its allotment, levy posted.
        await ContractCalloffs(self.uow).shipped(leg, order.delivery_date)
        leg.status = new_status
        leg.shipped_at = _now()
        leg.shipped_quantity = shipped
        await self.orders.flush()
        await self._refresh_status(order)
        await self.orders.flush()
        outbox.emit(
            self.uow,
            OrderLegShipped(order_id=order.id, leg_id=leg.id, quantity=shipped),
            organization_id=order.buyer_organization_id,
        )
        return leg

    async def deliver(
        self, principal: Principal, leg_id: uuid.UUID, received: int, note: str | None
    ) -> OrderLeg:
        """The buyer's goods receipt. A short delivery is recorded and credited."""
        order, leg = await self._leg_for(principal, leg_id, as_supplier=False)
        new_status = lifecycle.next_leg_status(leg.status, LegEvent.DELIVER)
        shipped = leg.shipped_quantity if leg.shipped_quantity is not None else leg.quantity
        if received > shipped:
            raise ReceivedTooMuch(
                f"Received {received} but {shipped} were shipped.",
                shipped=shipped,
                received=received,
            )
        delivered_subtotal = received * leg.unit_price
        delivered_vat = vat_for(delivered_subtotal, leg.vat_treatment)
        credit = (leg.subtotal + leg.vat_amount) - (delivered_subtotal + delivered_vat)
        leg.status = new_status
        leg.delivered_at = _now()
        leg.delivered_quantity = received
        leg.credited_amount = credit
        leg.receipt_note = note
        order.credited_total += credit
        if leg.kind != LegKind.CONSIGNMENT and received > 0:
            # The supplier sold its own goods (stock, a received Bulog lot, a call-off): what
            # arrived is posted now, once per leg. Consignment sales post in their context.
            await LedgerService(self.uow).post(
                postings.stock_sale(
                    leg.id,
                    order.buyer_organization_id,
                    leg.supplier_organization_id,
                    gross=delivered_subtotal,
                    vat=delivered_vat,
                )
            )
        await self.orders.flush()
        await self._refresh_status(order)
        await self.orders.flush()
        delivered = OrderLegDelivered(
            order_id=order.id,
            leg_id=leg.id,
            kind=leg.kind,
            delivered_quantity=received,
            short_quantity=leg.quantity - received,
            credited_amount=credit,
        )
        for organization_id in sorted({order.buyer_organization_id, leg.supplier_organization_id}):
            outbox.emit(self.uow, delivered, organization_id=organization_id)
        return leg
