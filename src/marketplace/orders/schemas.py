"""HTTP request/response shapes of the orders context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from marketplace.accounts.domain import REGION_CODE_PATTERN
from marketplace.dates import BoundedDates, BusinessDate
from marketplace.orders.domain.lifecycle import LegStatus, OrderStatus
from marketplace.orders.domain.splitting import LegKind

Quantity = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
RegionCode = Annotated[str, msgspec.Meta(pattern=REGION_CODE_PATTERN)]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Currency = Literal["IDR"]
MAX_LINES = 500
LegVat = Annotated[
    int,
    msgspec.Meta(
        description=(
            "VAT (PPN) the leg charges, in rupiah: 11% effective of the subtotal for a "
            "standard-rated product, 0 for an exempt one — and 0 on a consignment leg "
            "whose consignor (the UMKM owning the goods) is not VAT-registered."
        )
    ),
]


class OrderLineIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    product_id: uuid.UUID
    quantity: Quantity
    listing_id: uuid.UUID | None = None


class DeliveryIn(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    date: BusinessDate
    region_code: RegionCode
    address: Address


class OrderCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    lines: Annotated[list[OrderLineIn], msgspec.Meta(min_length=1, max_length=MAX_LINES)]
    delivery: DeliveryIn
    notes: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class PlannedLegOut(msgspec.Struct, kw_only=True):
    line_no: int
    kind: LegKind
    product_id: uuid.UUID
    listing_id: uuid.UUID | None
    contract_id: uuid.UUID | None
    supplier_organization_id: uuid.UUID
    owner_organization_id: uuid.UUID
    quantity: int
    unit_price: int
    subtotal: int
    vat_amount: LegVat
    levy_amount: int


class HeldBackOut(msgspec.Struct, kw_only=True):
    """A source of the line's product not offered because even its lowest price is above
    the product's zone price cap (HET) for its region now."""

    listing_id: uuid.UUID | None
    contract_id: uuid.UUID | None
    lowest_unit_price: int
    cap: int
    region_prefix: str
    currency: Currency


class SupplyShortfallOut(msgspec.Struct, kw_only=True):
    line_no: int
    product_id: uuid.UUID
    requested: int
    unfilled: int
    held_back_above_cap: list[HeldBackOut]


class BudgetCheckOut(msgspec.Struct, kw_only=True):
    budget_period_id: uuid.UUID
    envelope: int
    committed: int
    remaining: int
    remaining_after_order: int


class OrderPreviewOut(msgspec.Struct, kw_only=True):
    legs: list[PlannedLegOut]
    shortfalls: list[SupplyShortfallOut]
    complete: bool
    subtotal: int
    vat_total: int
    levy_total: int
    total: int
    currency: Currency
    budget: BudgetCheckOut | None


class DeliveryOut(msgspec.Struct, kw_only=True):
    date: dt.date
    region_code: str
    address: str


class OrderLineOut(msgspec.Struct, kw_only=True):
    line_no: int
    product_id: uuid.UUID
    quantity: int
    listing_id: uuid.UUID | None


class LegOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    order_id: uuid.UUID
    line_no: int
    kind: LegKind
    product_id: uuid.UUID
    listing_id: uuid.UUID | None
    contract_id: uuid.UUID | None
    supplier_organization_id: uuid.UUID
    owner_organization_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    quantity: int
    unit_price: int
    subtotal: int
    vat_amount: LegVat
    levy_amount: int
    currency: Currency
    status: LegStatus
    shipped_quantity: int | None
    delivered_quantity: int | None
    credited_amount: int
    receipt_note: str | None
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    created_at: dt.datetime


class OrderOut(msgspec.Struct, kw_only=True):
    """Suppliers see only their own legs, and totals of those legs."""

    id: uuid.UUID
    buyer_organization_id: uuid.UUID
    status: OrderStatus
    delivery: DeliveryOut
    notes: str | None
    lines: list[OrderLineOut]
    legs: list[LegOut]
    subtotal: int
    vat_total: int
    levy_total: int
    total: int
    credited_total: int
    currency: Currency
    budget_period_id: uuid.UUID | None
    standing_order_id: uuid.UUID | None
    created_at: dt.datetime


class OrderPage(msgspec.Struct, kw_only=True):
    items: list[OrderOut]
    next_cursor: str | None


class LegPage(msgspec.Struct, kw_only=True):
    items: list[LegOut]
    next_cursor: str | None


class LegDelivery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The buyer's goods receipt: what really arrived."""

    received_quantity: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class PortionBandIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    portions_per_day: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    rupiah_per_portion: Literal[8000, 10000]


class BudgetPeriodCreate(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    start_date: BusinessDate
    operating_days: Annotated[int, msgspec.Meta(ge=1, le=31)] = 10
    portions_per_day: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    rupiah_per_portion: Literal[8000, 10000] | None = None
    bands: Annotated[list[PortionBandIn], msgspec.Meta(min_length=1, max_length=10)] | None = None


class PortionBandOut(msgspec.Struct, kw_only=True):
    portions_per_day: int
    rupiah_per_portion: int


class BudgetPeriodOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kitchen_organization_id: uuid.UUID
    start_date: dt.date
    end_date: dt.date
    operating_days: int
    bands: list[PortionBandOut]
    envelope: int
    committed: int
    spent: int
    remaining: int
    currency: Currency
    created_at: dt.datetime


class BudgetPeriodPage(msgspec.Struct, kw_only=True):
    items: list[BudgetPeriodOut]
    next_cursor: str | None


class SpendLine(msgspec.Struct, kw_only=True):
    key: str
    amount: int


class BudgetReportOut(msgspec.Struct, kw_only=True):
    period: BudgetPeriodOut
    by_category: list[SpendLine]
    by_supplier: list[SpendLine]
    carry_over: int
    orders: int
    currency: Currency


class StandingLineIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    product_id: uuid.UUID
    quantity: Quantity


Weekday = Literal["1", "2", "3", "4", "5", "6", "7"]


StandingWeekdays = Annotated[
    dict[
        Weekday,
        Annotated[list[StandingLineIn], msgspec.Meta(min_length=1, max_length=MAX_LINES)],
    ],
    msgspec.Meta(min_length=1, description="ISO weekday of delivery (1 = Monday) → order lines"),
]


class StandingDeliveryIn(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    """Where the template's orders are delivered; each order's date is its weekday's."""

    region_code: RegionCode
    address: Address
    date: (
        Annotated[
            BusinessDate,
            msgspec.Meta(
                description="Ignored: each order is for the next date of its weekday. "
                "Accepted so that clients written when it was required keep working.",
                extra_json_schema={"deprecated": True},
            ),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET


class StandingOrderCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    weekdays: StandingWeekdays
    delivery: StandingDeliveryIn
    active: bool = True


class StandingOrderUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only what is given changes. `weekdays` replaces the whole week; `active: false`
    pauses the template (no orders are placed) until it is set back to true."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    weekdays: StandingWeekdays | msgspec.UnsetType = msgspec.UNSET
    delivery: StandingDeliveryIn | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class StandingRunOut(msgspec.Struct, kw_only=True):
    """What the H-1 job did for one delivery date."""

    delivery_date: dt.date
    outcome: Literal["placed", "failed"]
    order_id: uuid.UUID | None = None
    problem_code: str | None = None
    problem_detail: str | None = None
    attempts: int
    updated_at: dt.datetime


class StandingOrderOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    buyer_organization_id: uuid.UUID
    name: str
    weekdays: dict[str, list[OrderLineOut]]
    delivery_region_code: str
    delivery_address: str
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    recent_runs: Annotated[
        list[StandingRunOut],
        msgspec.Meta(
            description="The job's latest delivery dates, newest first: the order placed, "
            "or why none could be (a failed date is retried each hour until its eve ends)."
        ),
    ]
