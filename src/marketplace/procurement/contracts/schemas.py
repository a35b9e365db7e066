"""HTTP request/response shapes of inter-city trade contracts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from marketplace.dates import BoundedDates, BusinessDate

Quantity = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]
Currency = Literal["IDR"]
CityCode = Annotated[str, msgspec.Meta(pattern=r"^\d{2}\.\d{2}$")]


class SupplierIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    organization_id: uuid.UUID
    weekly_capacity: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]


class TradeContractCreate(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    product_id: uuid.UUID
    counterparty_organization_id: uuid.UUID
    counterparty_city_code: CityCode | None = None
    """Defaults to the counterparty's city (the first two segments of its region code)."""
    weekly_volume: Quantity
    unit_price: Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)]
    levy_bps: Annotated[int, msgspec.Meta(ge=0, le=10_000)]
    start_date: BusinessDate
    end_date: BusinessDate
    suppliers: Annotated[list[SupplierIn], msgspec.Meta(min_length=1, max_length=100)]


class ShortfallCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    quantity: Quantity


class ShipmentCreate(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    allotment_id: uuid.UUID
    quantity: Quantity
    shipped_on: BusinessDate | None = None
    reference: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class AllotmentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    supplier_organization_id: uuid.UUID
    position: int
    declared_capacity: int
    capacity: int
    weekly_quantity: int


class WeekOut(msgspec.Struct, kw_only=True):
    week_start: dt.date
    iso_week: str
    volume: int
    allotted: int
    called_off: int
    shipped: int
    shipped_amount: int
    levy: int
    currency: Currency


class TradeContractOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    trade_center_organization_id: uuid.UUID
    counterparty_organization_id: uuid.UUID
    counterparty_city_code: str
    product_id: uuid.UUID
    weekly_volume: int
    allotted: int
    unplaced: int
    unit_price: int
    levy_bps: int
    currency: Currency
    start_date: dt.date
    end_date: dt.date
    status: str
    allotments: list[AllotmentOut]
    weeks: list[WeekOut]
    created_at: dt.datetime


class TradeContractSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    trade_center_organization_id: uuid.UUID
    counterparty_organization_id: uuid.UUID
    counterparty_city_code: str
    product_id: uuid.UUID
    weekly_volume: int
    unplaced: int
    unit_price: int
    levy_bps: int
    currency: Currency
    start_date: dt.date
    end_date: dt.date
    status: str
    created_at: dt.datetime


class TradeContractPage(msgspec.Struct, kw_only=True):
    items: list[TradeContractSummary]
    next_cursor: str | None


class ShipmentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    contract_id: uuid.UUID
    allotment_id: uuid.UUID
    week_start: dt.date
    quantity: int
    amount: int
    levy_amount: int
    currency: Currency
    reference: str | None
    created_at: dt.datetime
    contract: TradeContractOut


class AllotmentShortfallOut(msgspec.Struct, kw_only=True):
    contract: TradeContractOut
    unplaced: int
    """Units of this shortfall no other supplier had the capacity to take."""
