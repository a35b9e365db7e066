"""Tables of Bulog purchase lots: lots, their demand lines and purchase orders."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin, enum_column
from marketplace.procurement.lots.domain import BulogOrderStatus, LotCloseReason, LotStatus


class BulogLot(IdMixin, TimestampMixin, Base):
    """One pooled purchase from a Bulog branch for one cooperative and product.

    `open` collects demand; `closed` has become a purchase order (whole lot units);
    `received` has been delivered and its goods shared out to the waiting legs.
    """

    __tablename__ = "bulog_lots"

    cooperative_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    bulog_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    # The cooperative's `bulog_lot` listing the legs were sold from; goods are received here.
    listing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("listings.id"))
    status: Mapped[LotStatus] = mapped_column(enum_column(LotStatus, 16))
    lot_unit: Mapped[int]
    lot_size: Mapped[int]
    unit_price: Mapped[int]
    cutoff_at: Mapped[dt.datetime]
    total_demand: Mapped[int] = mapped_column(default=0)
    order_quantity: Mapped[int | None]
    surplus: Mapped[int | None]
    closed_at: Mapped[dt.datetime | None]
    close_reason: Mapped[LotCloseReason | None] = mapped_column(enum_column(LotCloseReason, 16))
    received_quantity: Mapped[int | None]
    received_at: Mapped[dt.datetime | None]
    receipt_note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        # At most one open lot per (cooperative, product, Bulog branch).
        Index(
            "uq_bulog_lots_open_key",
            "cooperative_organization_id",
            "product_id",
            "bulog_organization_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_bulog_lots_cooperative", "cooperative_organization_id", "id"),
        Index("ix_bulog_lots_open_cutoff", "cutoff_at", postgresql_where=text("status = 'open'")),
        CheckConstraint("lot_unit > 0 AND lot_size > 0", name="sizes_positive"),
        CheckConstraint("total_demand >= 0", name="demand_not_negative"),
        CheckConstraint(
            "received_quantity IS NULL OR received_quantity <= order_quantity",
            name="received_within_order",
        ),
    )


class BulogDemandLine(IdMixin, TimestampMixin, Base):
    """One `bulog_lot` order leg pooled into a lot."""

    __tablename__ = "bulog_demand_lines"

    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bulog_lots.id"))
    leg_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    order_id: Mapped[uuid.UUID]
    buyer_organization_id: Mapped[uuid.UUID]
    ordered_at: Mapped[dt.datetime]
    quantity: Mapped[int]
    # Set when the lot is received: what of the demand the goods covered.
    released_quantity: Mapped[int | None]
    unfilled_quantity: Mapped[int | None]
    # The order was cancelled: the line no longer counts (its units become surplus).
    withdrawn_at: Mapped[dt.datetime | None]

    __table_args__ = (
        Index("ix_bulog_demand_lines_lot", "lot_id", "ordered_at"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class BulogPurchaseOrder(IdMixin, TimestampMixin, Base):
    """What a closed lot orders from its Bulog branch: whole lot units."""

    __tablename__ = "bulog_purchase_orders"

    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bulog_lots.id"), unique=True)
    bulog_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    cooperative_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    unit_price: Mapped[int]
    total: Mapped[int]
    status: Mapped[BulogOrderStatus] = mapped_column(enum_column(BulogOrderStatus, 16))

    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)
