"""The orders context's events (see `marketplace.events`): an order's parties follow it
through `order.*`; a standing order that could not be placed is recorded for its buyer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from marketplace.events import Currency, Event, PartnerEvent
from marketplace.money import Rupiah
from marketplace.orders.domain import LegKind


class OrderPlaced(PartnerEvent, frozen=True, kw_only=True):
    """An order was placed: to its buyer and each supplier."""

    event_type: ClassVar[str] = "order.placed"
    order_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    total: Rupiah
    currency: Currency = "IDR"
    delivery_date: dt.date


class OrderCancelled(PartnerEvent, frozen=True, kw_only=True):
    """The buyer cancelled the order: to the buyer and each supplier."""

    event_type: ClassVar[str] = "order.cancelled"
    order_id: uuid.UUID


class OrderLegShipped(PartnerEvent, frozen=True, kw_only=True):
    """A supplier shipped its leg: to the buyer."""

    event_type: ClassVar[str] = "order.leg.shipped"
    order_id: uuid.UUID
    leg_id: uuid.UUID
    quantity: int


class OrderLegDelivered(PartnerEvent, frozen=True, kw_only=True):
    """The buyer's goods receipt of a leg: to the buyer and the leg's supplier."""

    event_type: ClassVar[str] = "order.leg.delivered"
    order_id: uuid.UUID
    leg_id: uuid.UUID
    kind: LegKind
    delivered_quantity: int
    short_quantity: int
    credited_amount: Rupiah


class StandingOrderFailed(Event, frozen=True, kw_only=True):
    """A standing order's delivery date could not be placed (why, as a problem code)."""

    event_type: ClassVar[str] = "order.standing_failed"
    standing_order_id: uuid.UUID
    delivery_date: dt.date
    code: str
    detail: str


__all__ = [
    "OrderCancelled",
    "OrderLegDelivered",
    "OrderLegShipped",
    "OrderPlaced",
    "StandingOrderFailed",
]
