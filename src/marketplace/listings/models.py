"""Tables of the listings context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.accounts.domain import OrganizationKind
from marketplace.db import Base, IdMixin, TimestampMixin, enum_column
from marketplace.listings.domain import ListingStatus, MovementKind, SupplyMode


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), index=True)
    unit_code: Mapped[str] = mapped_column(String(3))
    unit_label: Mapped[str] = mapped_column(String(64))
    net_content: Mapped[int]
    net_content_unit: Mapped[str] = mapped_column(String(3))
    vat_treatment: Mapped[str] = mapped_column(String(16))
    programme: Mapped[str | None] = mapped_column(String(16))
    bulog_supplied: Mapped[bool] = mapped_column(default=False)
    # [{"region_prefix": "35", "max_unit_price": 62500}, ...] — zone caps (HET) per sale unit.
    price_caps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    search_text: Mapped[str] = mapped_column(String(600))
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # The edit version, the `ETag` (`marketplace.entity_tags`): every ORM UPDATE bumps it.
    version: Mapped[int] = mapped_column(server_default=text("1"))
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        Index(
            "ix_products_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        CheckConstraint("net_content > 0", name="net_content_positive"),
    )


class Listing(IdMixin, TimestampMixin, Base):
    __tablename__ = "listings"

    seller_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    owner_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    # Denormalised from the organizations/products (both immutable) for index-only filters.
    seller_kind: Mapped[OrganizationKind] = mapped_column(enum_column(OrganizationKind, 32))
    category: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(13))
    tiers: Mapped[list[dict[str, int]]] = mapped_column(JSONB)
    # The single-unit price (first tier): what search sorts and filters by.
    base_unit_price: Mapped[int]
    min_order_quantity: Mapped[int] = mapped_column(default=1)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    supply_mode: Mapped[SupplyMode] = mapped_column(enum_column(SupplyMode, 16))
    status: Mapped[ListingStatus] = mapped_column(enum_column(ListingStatus, 16))
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # The edit version, the `ETag` (`marketplace.entity_tags`): every ORM UPDATE bumps it —
    # the terms a seller edits (tiers, minimum order, status). The stock counters are not
    # in it: orders move them all day in set-based statements, and a price change does not
    # conflict with a reservation.
    version: Mapped[int] = mapped_column(server_default=text("1"))
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint(
            "supply_mode <> 'stock' OR reserved <= on_hand", name="reserved_within_on_hand"
        ),
        CheckConstraint("min_order_quantity >= 1", name="moq_positive"),
        CheckConstraint("base_unit_price > 0", name="price_positive"),
        UniqueConstraint(
            "seller_organization_id", "product_id", "owner_organization_id", "supply_mode"
        ),
        # Search walks active listings in (price, id) order; these cover its filters.
        Index(
            "ix_listings_active_price",
            "base_unit_price",
            "id",
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "ix_listings_active_product_price",
            "product_id",
            "base_unit_price",
            "id",
            postgresql_where=text("status = 'active'"),
        ),
        # A text search goes product by product; with a region, within the product's
        # listings of that region (a prefix range), whatever the product sells elsewhere.
        Index(
            "ix_listings_active_product_region",
            "product_id",
            "region_code",
            "base_unit_price",
            "id",
            postgresql_where=text("status = 'active'"),
            postgresql_ops={"region_code": "text_pattern_ops"},
        ),
        Index(
            "ix_listings_active_category_price",
            "category",
            "base_unit_price",
            "id",
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "ix_listings_region_code",
            "region_code",
            postgresql_ops={"region_code": "text_pattern_ops"},
        ),
        Index("ix_listings_seller", "seller_organization_id", "id"),
        Index("ix_listings_owner", "owner_organization_id", "id"),
    )


class StockMovement(IdMixin, TimestampMixin, Base):
    """Append-only: a trigger refuses UPDATE and DELETE."""

    __tablename__ = "stock_movements"

    listing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("listings.id"))
    kind: Mapped[MovementKind] = mapped_column(enum_column(MovementKind, 16))
    on_hand_delta: Mapped[int]
    reserved_delta: Mapped[int]
    on_hand_after: Mapped[int]
    reserved_after: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(100))
    actor_organization_id: Mapped[uuid.UUID | None]
    actor_api_key_id: Mapped[uuid.UUID | None]
    actor_person_id: Mapped[uuid.UUID | None]

    __table_args__ = (Index("ix_stock_movements_listing", "listing_id", "id"),)
