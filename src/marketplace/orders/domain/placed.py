"""What an order placement plans and writes: priced legs, and the rows it inserted.

Plain frozen Structs, not ORM objects: the placement writes its rows with one statement
per table and returns these (`placement.OrderPlacement`); the controller answers from
them and procurement reads legs through them. A row Struct names the table it mirrors
(`mirrors_table`): `tests/test_row_shapes.py` holds its fields to the table's columns,
and the bulk insert (`unnest_insert`) writes every column from them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

import msgspec

from marketplace.orders.domain import splitting


class PricedLeg(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    planned: splitting.PlannedLeg
    category: str
    vat_treatment: str
    """The leg's effective treatment (`domain.leg_vat_treatment`)."""
    vat_amount: int


class PricedPlan(msgspec.Struct, frozen=True, kw_only=True):
    legs: tuple[PricedLeg, ...]
    shortfalls: tuple[splitting.Shortfall, ...]

    @property
    def subtotal(self) -> int:
        return sum(leg.planned.line_total for leg in self.legs)

    @property
    def vat_total(self) -> int:
        return sum(leg.vat_amount for leg in self.legs)

    @property
    def levy_total(self) -> int:
        return sum(leg.planned.levy_amount for leg in self.legs)

    @property
    def total(self) -> int:
        # The levy is carried by the supplier's side of a call-off, not added for the buyer.
        return self.subtotal + self.vat_total


class BudgetCheck(msgspec.Struct, frozen=True, kw_only=True):
    period_id: uuid.UUID
    envelope: int
    committed: int


class PlacedOrderRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The `orders` row a placement wrote (the fields of `models.Order`)."""

    mirrors_table: ClassVar[str] = "orders"

    id: uuid.UUID
    buyer_organization_id: uuid.UUID
    status: str
    delivery_date: dt.date
    delivery_region_code: str
    delivery_address: str
    notes: str | None
    subtotal: int
    vat_total: int
    levy_total: int
    total: int
    credited_total: int
    budget_period_id: uuid.UUID | None
    standing_order_id: uuid.UUID | None
    placed_by_api_key_id: uuid.UUID | None
    placed_by_person_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PlacedLine(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An `order_lines` row a placement wrote (the fields of `models.OrderLine`)."""

    mirrors_table: ClassVar[str] = "order_lines"

    id: uuid.UUID
    order_id: uuid.UUID
    line_no: int
    product_id: uuid.UUID
    quantity: int
    listing_id: uuid.UUID | None


class PlacedLeg(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An `order_legs` row a placement wrote (the fields of `models.OrderLeg`); it is
    what procurement's pooling and call-offs read of a leg, too."""

    mirrors_table: ClassVar[str] = "order_legs"

    id: uuid.UUID
    order_id: uuid.UUID
    line_no: int
    kind: str
    product_id: uuid.UUID
    category: str
    listing_id: uuid.UUID | None
    contract_id: uuid.UUID | None
    allotment_id: uuid.UUID | None
    supplier_organization_id: uuid.UUID
    owner_organization_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    quantity: int
    unit_price: int
    subtotal: int
    vat_treatment: str
    vat_amount: int
    levy_amount: int
    status: str
    shipped_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    shipped_quantity: int | None = None
    delivered_quantity: int | None = None
    credited_amount: int = 0
    receipt_note: str | None = None
    created_at: dt.datetime


class PlacedOrder(msgspec.Struct, frozen=True, kw_only=True):
    order: PlacedOrderRow
    lines: list[PlacedLine]
    legs: list[PlacedLeg]
