"""Tables of the orders context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin, enum_column
from marketplace.orders.domain import LegKind
from marketplace.orders.domain.lifecycle import LegStatus, OrderStatus


class Order(IdMixin, TimestampMixin, Base):
    __tablename__ = "orders"

    buyer_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, 32))
    delivery_date: Mapped[dt.date] = mapped_column(Date)
    delivery_region_code: Mapped[str] = mapped_column(String(13))
    delivery_address: Mapped[str] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(String(1000))
    subtotal: Mapped[int]
    vat_total: Mapped[int]
    levy_total: Mapped[int]
    total: Mapped[int]
    # What short deliveries credited back to the buyer.
    credited_total: Mapped[int] = mapped_column(default=0)
    budget_period_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("budget_periods.id"))
    standing_order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("standing_orders.id"))
    placed_by_api_key_id: Mapped[uuid.UUID | None]
    placed_by_person_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        Index("ix_orders_buyer", "buyer_organization_id", "id"),
        Index("ix_orders_budget_period", "budget_period_id"),
        # One order per standing order per delivery date, however often the job runs.
        UniqueConstraint("standing_order_id", "delivery_date"),
    )


class OrderLine(IdMixin, Base):
    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    listing_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class OrderLeg(IdMixin, TimestampMixin, Base):
    __tablename__ = "order_legs"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    kind: Mapped[LegKind] = mapped_column(enum_column(LegKind, 16))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    # The product's category (fixed once created), for spend reports without a join.
    category: Mapped[str] = mapped_column(String(32))
    listing_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("listings.id"))
    contract_id: Mapped[uuid.UUID | None]
    allotment_id: Mapped[uuid.UUID | None]
    supplier_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    owner_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    buyer_organization_id: Mapped[uuid.UUID]
    quantity: Mapped[int]
    unit_price: Mapped[int]
    subtotal: Mapped[int]
    # The leg's effective VAT treatment (`tax.VatTreatment`): the product's, except
    # `exempt` on a consignment leg whose consignor is not VAT-registered (a
    # non-registered UMKM can't charge VAT; `orders.domain.leg_vat_treatment`). Every
    # recomputation of the leg's VAT (short-delivery credit, the consignment sale) uses
    # `tax.vat_for(amount, vat_treatment)` on it, so they all agree with placement.
    vat_treatment: Mapped[str] = mapped_column(String(16))
    vat_amount: Mapped[int]
    levy_amount: Mapped[int]
    status: Mapped[LegStatus] = mapped_column(enum_column(LegStatus, 16))
    shipped_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    # What really left the supplier: less than `quantity` when a Bulog lot came short.
    shipped_quantity: Mapped[int | None]
    delivered_quantity: Mapped[int | None]
    credited_amount: Mapped[int] = mapped_column(default=0)
    receipt_note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_order_legs_order", "order_id"),
        Index("ix_order_legs_supplier_queue", "supplier_organization_id", "status", "id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "delivered_quantity IS NULL "
            "OR (delivered_quantity >= 0 AND delivered_quantity <= quantity)",
            name="delivered_within_quantity",
        ),
    )


class BudgetPeriod(IdMixin, TimestampMixin, Base):
    """A kitchen's 10-operating-day raw-material envelope (MBG virtual-account advance)."""

    __tablename__ = "budget_periods"

    kitchen_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    operating_days: Mapped[int]
    # [{"portions_per_day": 2500, "rupiah_per_portion": 10000}, ...]
    bands: Mapped[list[dict[str, int]]] = mapped_column(JSONB)
    envelope: Mapped[int]

    __table_args__ = (
        Index("ix_budget_periods_kitchen", "kitchen_organization_id", "start_date"),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
    )


class StandingOrder(IdMixin, TimestampMixin, Base):
    """A kitchen's weekly template: weekday → lines, turned into orders the day before."""

    __tablename__ = "standing_orders"

    buyer_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))
    # {"1": [{"product_id": ..., "quantity": ...}], ...} — ISO weekday (1 = Monday).
    weekdays: Mapped[dict[str, list[dict[str, Any]]]] = mapped_column(JSONB)
    delivery_region_code: Mapped[str] = mapped_column(String(13))
    delivery_address: Mapped[str] = mapped_column(String(500))
    # False while the kitchen has paused it (school holidays, a menu change).
    active: Mapped[bool] = mapped_column(default=True)
    created_by_api_key_id: Mapped[uuid.UUID | None]
    created_by_person_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # Deleting keeps the row: the orders it placed still name it.
    deleted_at: Mapped[dt.datetime | None]

    __table_args__ = (Index("ix_standing_orders_buyer", "buyer_organization_id"),)


class StandingOrderRun(Base):
    """What the H-1 job did for one standing order and one delivery date: the order it
    placed, or why it could not (retried each hour until the day, the latest reason kept)."""

    __tablename__ = "standing_order_runs"

    standing_order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("standing_orders.id"), primary_key=True
    )
    delivery_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[uuid.UUID | None]
    problem_code: Mapped[str | None] = mapped_column(String(100))
    problem_detail: Mapped[str | None] = mapped_column(String(1000))
    attempts: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("outcome IN ('placed', 'failed')", name="outcome_known"),
        CheckConstraint(
            "(outcome = 'placed') = (order_id IS NOT NULL)", name="placed_names_its_order"
        ),
    )
