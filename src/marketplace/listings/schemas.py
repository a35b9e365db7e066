"""HTTP request/response shapes of the listings context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from marketplace.accounts.domain import REGION_CODE_PATTERN
from marketplace.listings.domain import (
    ListingStatus,
    MovementKind,
    NetContentUnit,
    ProductCategory,
    Programme,
    SupplyMode,
    UnitCode,
)
from marketplace.tax import VatTreatment

MAX_UNIT_PRICE = 10_000_000_000  # Rp10 billion: far above any unit price, inside int64
Rupiah = Annotated[int, msgspec.Meta(gt=0, le=MAX_UNIT_PRICE, description="Integer rupiah")]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]
Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
ProductName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RegionCode = Annotated[str, msgspec.Meta(pattern=REGION_CODE_PATTERN)]
Currency = Literal["IDR"]


class PriceCapIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    region_prefix: RegionCode
    max_unit_price: Rupiah


class PriceCapOut(msgspec.Struct, kw_only=True):
    region_prefix: str
    max_unit_price: int
    currency: Currency = "IDR"


class ProductCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    sku: Sku
    name: ProductName
    name_en: ProductName | None = None
    category: ProductCategory
    unit_code: UnitCode
    unit_label: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    net_content: Quantity
    net_content_unit: NetContentUnit
    vat_treatment: VatTreatment | None = None
    programme: Programme | None = None
    bulog_supplied: bool = False
    price_caps: Annotated[list[PriceCapIn], msgspec.Meta(max_length=50)] = []


class ProductUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: ProductName | msgspec.UnsetType = msgspec.UNSET
    name_en: ProductName | msgspec.UnsetType | None = msgspec.UNSET
    vat_treatment: VatTreatment | msgspec.UnsetType = msgspec.UNSET
    programme: Programme | msgspec.UnsetType | None = msgspec.UNSET
    bulog_supplied: bool | msgspec.UnsetType = msgspec.UNSET
    price_caps: Annotated[list[PriceCapIn], msgspec.Meta(max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )


class ProductOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    sku: str
    name: str
    name_en: str | None
    category: ProductCategory
    unit_code: UnitCode
    unit_label: str
    net_content: int
    net_content_unit: NetContentUnit
    vat_treatment: VatTreatment
    programme: Programme | None
    bulog_supplied: bool
    price_caps: list[PriceCapOut]
    created_at: dt.datetime


class ProductPage(msgspec.Struct, kw_only=True):
    items: list[ProductOut]
    next_cursor: str | None


class PriceTierIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    min_quantity: Quantity
    unit_price: Rupiah


class PriceTierOut(msgspec.Struct, kw_only=True):
    min_quantity: int
    unit_price: int


Tiers = Annotated[list[PriceTierIn], msgspec.Meta(min_length=1, max_length=20)]


class ListingCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    product_id: uuid.UUID
    price_tiers: Tiers
    min_order_quantity: Quantity = 1
    supply_mode: SupplyMode = SupplyMode.STOCK
    status: ListingStatus = ListingStatus.ACTIVE
    opening_stock: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] = 0
    seller_organization_id: uuid.UUID | None = None  # platform only: list for a seller


class ListingUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    price_tiers: Tiers | msgspec.UnsetType = msgspec.UNSET
    min_order_quantity: Quantity | msgspec.UnsetType = msgspec.UNSET
    status: ListingStatus | msgspec.UnsetType = msgspec.UNSET


# ProductSummary and ListingOut also take their fields by position: a catalogue page
# builds 50 of each from plain rows (`controller.listing_row_out`), twice as fast so.
class ProductSummary(msgspec.Struct):
    id: uuid.UUID
    sku: str
    name: str
    category: ProductCategory
    unit_code: UnitCode
    unit_label: str
    vat_treatment: VatTreatment
    programme: Programme | None


class ListingOut(msgspec.Struct):
    id: uuid.UUID
    product: ProductSummary
    seller_organization_id: uuid.UUID
    owner_organization_id: uuid.UUID
    seller_kind: str
    region_code: str
    price_tiers: list[PriceTierOut]
    unit_price: int
    currency: Currency
    min_order_quantity: int
    on_hand: int
    reserved: int
    available: int
    supply_mode: SupplyMode
    status: ListingStatus
    created_at: dt.datetime
    updated_at: dt.datetime


class ListingPage(msgspec.Struct, kw_only=True):
    items: list[ListingOut]
    next_cursor: str | None


class StockMovementCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: Literal["receive", "adjust"]
    quantity: Annotated[
        int,
        msgspec.Meta(
            ge=-10_000_000,
            le=10_000_000,
            description="Units; positive for receive, signed (non-zero) for adjust",
        ),
    ]
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    reference: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class StockMovementOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    listing_id: uuid.UUID
    kind: MovementKind
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    reason: str | None
    reference: str | None
    actor_organization_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    created_at: dt.datetime


class StockMovementPage(msgspec.Struct, kw_only=True):
    items: list[StockMovementOut]
    next_cursor: str | None


class CatalogFeedItem(msgspec.Struct, kw_only=True):
    """One offer in a shape a city e-catalogue ingests."""

    listing_id: uuid.UUID
    product_sku: str
    product_name: str
    category: ProductCategory
    unit_code: UnitCode
    unit_label: str
    unit_price: int
    price_tiers: list[PriceTierOut]
    currency: Currency
    vat_treatment: VatTreatment
    region_code: str
    available: int
    seller_name: str
    seller_npwp: str | None
    seller_nib: str | None
    producer_name: str
    producer_kind: str
    producer_npwp: str | None
    producer_nib: str | None
    updated_at: dt.datetime


class CatalogFeedPage(msgspec.Struct, kw_only=True):
    items: list[CatalogFeedItem]
    next_cursor: str | None
