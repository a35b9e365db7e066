"""HTTP request/response shapes of Bulog purchase lots."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

Currency = Literal["IDR"]
LotStatusName = Literal["open", "closed", "received", "cancelled"]


class LotReceiptCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    received_quantity: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class DemandLineOut(msgspec.Struct, kw_only=True):
    leg_id: uuid.UUID
    order_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    ordered_at: dt.datetime
    quantity: int
    released_quantity: int | None
    unfilled_quantity: int | None
    withdrawn_at: dt.datetime | None
    """Set when the order was cancelled: the line no longer counts."""


class BulogPurchaseOrderOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    bulog_organization_id: uuid.UUID
    quantity: int
    unit_price: int
    total: int
    currency: Currency
    status: str
    created_at: dt.datetime


class BulogLotOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    cooperative_organization_id: uuid.UUID
    product_id: uuid.UUID
    bulog_organization_id: uuid.UUID
    listing_id: uuid.UUID
    status: LotStatusName
    lot_unit: int
    lot_size: int
    unit_price: int
    currency: Currency
    cutoff_at: dt.datetime
    total_demand: int
    order_quantity: int | None
    surplus: int | None
    closed_at: dt.datetime | None
    close_reason: str | None
    received_quantity: int | None
    received_at: dt.datetime | None
    created_at: dt.datetime
    demand_lines: list[DemandLineOut] | None = None
    purchase_order: BulogPurchaseOrderOut | None = None


class BulogLotPage(msgspec.Struct, kw_only=True):
    items: list[BulogLotOut]
    next_cursor: str | None


class UnfilledOut(msgspec.Struct, kw_only=True):
    leg_id: uuid.UUID
    order_id: uuid.UUID
    demanded: int
    released: int
    unfilled: int


class LotReceiptOut(msgspec.Struct, kw_only=True):
    lot: BulogLotOut
    released_total: int
    unfilled_total: int
    surplus: int
    surplus_listing_id: uuid.UUID | None
    unfilled: list[UnfilledOut]
    """Legs the receipt could not cover in full, oldest order first."""
