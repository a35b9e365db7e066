"""Tables of inter-city trade contracts: contracts, allotments, their weeks and shipments."""

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
)
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin, enum_column
from marketplace.procurement.contracts.domain import ContractStatus


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
