"""Tables of the procurement context: Bulog purchase lots and inter-city trade contracts.

(Government sourcing keeps its own tables in `procurement/sourcing/`.)
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin, enum_column
from marketplace.procurement.domain.states import (
    BulogOrderStatus,
    ContractStatus,
    LotCloseReason,
    LotStatus,
)

# --- Bulog purchase lots --------------------------------------------------------------


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


# --- inter-city trade contracts ---------------------------------------------------------


class TradeContract(IdMixin, TimestampMixin, Base):
    __tablename__ = "trade_contracts"

    trade_center_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    counterparty_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    # Buyers whose region code starts with this city code are served (e.g. 32.76 Depok).
    counterparty_city_code: Mapped[str] = mapped_column(String(13))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    weekly_volume: Mapped[int]
    unit_price: Mapped[int]
    levy_bps: Mapped[int]
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[ContractStatus] = mapped_column(enum_column(ContractStatus, 16))
    # Weekly units no supplier could take after shortfalls were re-allotted.
    unplaced: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        Index("ix_trade_contracts_trade_center", "trade_center_organization_id", "id"),
        Index("ix_trade_contracts_product", "product_id", "start_date"),
        CheckConstraint("weekly_volume > 0", name="volume_positive"),
        CheckConstraint("unit_price > 0", name="price_positive"),
        CheckConstraint("levy_bps >= 0 AND levy_bps <= 10000", name="levy_in_range"),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
    )


class TradeAllotment(IdMixin, TimestampMixin, Base):
    """One supplying cooperative's weekly share of a contract, in the trade center's list
    order (`position`). `capacity` is lowered when the supplier declares a shortfall."""

    __tablename__ = "trade_allotments"

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trade_contracts.id"))
    supplier_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    position: Mapped[int]
    declared_capacity: Mapped[int]
    capacity: Mapped[int]
    quantity: Mapped[int]

    __table_args__ = (
        UniqueConstraint("contract_id", "supplier_organization_id"),
        UniqueConstraint("contract_id", "position"),
        CheckConstraint("quantity >= 0 AND quantity <= capacity", name="within_capacity"),
    )


class TradeAllotmentWeek(Base):
    """What an allotment has given in one ISO week (keyed by the week's Monday):
    `called_off` by orders and direct shipments (never above the allotment), `shipped`."""

    __tablename__ = "trade_allotment_weeks"

    allotment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trade_allotments.id"))
    week_start: Mapped[dt.date] = mapped_column(Date)
    called_off: Mapped[int] = mapped_column(default=0)
    shipped: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        PrimaryKeyConstraint("allotment_id", "week_start"),
        CheckConstraint("called_off >= 0 AND shipped >= 0", name="not_negative"),
    )


class TradeShipment(IdMixin, TimestampMixin, Base):
    """A delivery under a contract: a shipped call-off leg (`order_leg_id`) or a direct
    shipment recorded by the supplier. Carries the levy posted to the ledger."""

    __tablename__ = "trade_shipments"

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trade_contracts.id"))
    allotment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trade_allotments.id"))
    week_start: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[int]
    amount: Mapped[int]
    levy_amount: Mapped[int]
    order_leg_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    reference: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_trade_shipments_contract", "contract_id", "week_start"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )
