"""Bulog lot events (see `marketplace.events`): the cooperative follows its lot, the Bulog
branch its purchase orders."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from marketplace.events import Currency, PartnerEvent
from marketplace.money import Rupiah
from marketplace.procurement.lots.domain import LotCloseReason, LotStatus


class BulogLotClosed(PartnerEvent, frozen=True, kw_only=True):
    """The lot stopped pooling (`status` `cancelled` when there was nothing to order): to
    the cooperative."""

    event_type: ClassVar[str] = "procurement.bulog_lot.closed"
    lot_id: uuid.UUID
    status: LotStatus
    reason: LotCloseReason | None
    product_id: uuid.UUID
    bulog_organization_id: uuid.UUID
    total_demand: int
    order_quantity: int | None
    surplus: int | None
    closed_at: dt.datetime


class BulogLotSubmitted(PartnerEvent, frozen=True, kw_only=True):
    """The lot's purchase order went to the Bulog branch: to it and the cooperative."""

    event_type: ClassVar[str] = "procurement.bulog_lot.submitted"
    lot_id: uuid.UUID
    purchase_order_id: uuid.UUID
    bulog_organization_id: uuid.UUID
    cooperative_organization_id: uuid.UUID
    product_id: uuid.UUID
    quantity: int
    unit_price: Rupiah
    total: Rupiah
    currency: Currency = "IDR"


class BulogLotReceived(PartnerEvent, frozen=True, kw_only=True):
    """The cooperative received the delivery, what arrived and where it went: to it and the
    Bulog branch."""

    event_type: ClassVar[str] = "procurement.bulog_lot.received"
    lot_id: uuid.UUID
    purchase_order_id: uuid.UUID | None
    product_id: uuid.UUID
    ordered_quantity: int | None
    received_quantity: int | None
    released: int
    unfilled: int
    surplus: int
    received_at: dt.datetime


__all__ = [
    "BulogLotClosed",
    "BulogLotReceived",
    "BulogLotSubmitted",
]
