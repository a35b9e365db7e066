"""Tables of the consignment context.

Exactly-once settlement is a database rule: a sale (and a return) carries the id of the
statement that settled it; the settlement claims rows with one ``UPDATE … WHERE
statement_id IS NULL`` and a trigger made by the migration refuses any later change of a
settled row, so no retry, concurrent run or crash can settle a sale twice.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin


class Agreement(IdMixin, TimestampMixin, Base):
    __tablename__ = "consignment_agreements"

    cooperative_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    consignor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    commission_bps: Mapped[int]
    settlement_cycle_days: Mapped[int]
    bank_name: Mapped[str] = mapped_column(String(100))
    bank_account_number: Mapped[str] = mapped_column(String(34))
    bank_account_holder: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    ended_at: Mapped[dt.datetime | None]
    last_settled_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("commission_bps BETWEEN 0 AND 5000", name="commission_range"),
        CheckConstraint("settlement_cycle_days BETWEEN 1 AND 366", name="cycle_range"),
        # One active agreement per (cooperative, consignor).
        Index(
            "uq_consignment_agreements_active_pair",
            "cooperative_id",
            "consignor_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_consignment_agreements_consignor", "consignor_id", "id"),
        Index("ix_consignment_agreements_cooperative", "cooperative_id", "id"),
    )


class Intake(IdMixin, TimestampMixin, Base):
    __tablename__ = "consignment_intakes"

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consignment_agreements.id"))
    cooperative_id: Mapped[uuid.UUID]
    consignor_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    listing_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("listings.id"))
    proposed_quantity: Mapped[int]
    received_quantity: Mapped[int | None]
    returned_quantity: Mapped[int] = mapped_column(default=0)
    unit_price: Mapped[int]
    expiry_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    confirmed_at: Mapped[dt.datetime | None]
    expired_flagged_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint("proposed_quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price > 0", name="price_positive"),
        CheckConstraint(
            "received_quantity IS NULL OR received_quantity > 0", name="received_positive"
        ),
        CheckConstraint(
            "returned_quantity >= 0 AND returned_quantity <= COALESCE(received_quantity, 0)",
            name="returned_within_received",
        ),
        Index("ix_consignment_intakes_cooperative", "cooperative_id", "id"),
        Index("ix_consignment_intakes_consignor", "consignor_id", "id"),
        Index(
            "ix_consignment_intakes_expiring",
            "expiry_date",
            postgresql_where=text("status = 'confirmed' AND expiry_date IS NOT NULL"),
        ),
    )


class SettlementRun(IdMixin, TimestampMixin, Base):
    __tablename__ = "consignment_settlement_runs"

    cooperative_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    cutoff: Mapped[dt.datetime]
    statements_count: Mapped[int] = mapped_column(default=0)
    sales_count: Mapped[int] = mapped_column(default=0)
    payout_total: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_consignment_settlement_runs_cooperative", "cooperative_id", "id"),)


class Statement(IdMixin, TimestampMixin, Base):
    __tablename__ = "consignment_statements"

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consignment_settlement_runs.id"))
    cooperative_id: Mapped[uuid.UUID]
    consignor_id: Mapped[uuid.UUID]
    agreement_id: Mapped[uuid.UUID | None]
    cutoff: Mapped[dt.datetime]
    opening_balance: Mapped[int] = mapped_column(default=0)
    sales_count: Mapped[int] = mapped_column(default=0)
    gross_sales: Mapped[int] = mapped_column(default=0)
    commission: Mapped[int] = mapped_column(default=0)
    net_sales: Mapped[int] = mapped_column(default=0)
    returns_count: Mapped[int] = mapped_column(default=0)
    returns_quantity: Mapped[int] = mapped_column(default=0)
    adjustments_total: Mapped[int] = mapped_column(default=0)
    payout_due: Mapped[int] = mapped_column(default=0)
    closing_balance: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        CheckConstraint("payout_due >= 0", name="payout_not_negative"),
        CheckConstraint(
            "opening_balance + net_sales + adjustments_total = payout_due + closing_balance",
            name="balanced",
        ),
        CheckConstraint(
            "net_sales = gross_sales - commission", name="net_is_gross_less_commission"
        ),
        Index("ix_consignment_statements_consignor", "consignor_id", "id"),
        Index("ix_consignment_statements_cooperative", "cooperative_id", "consignor_id", "id"),
        Index("ix_consignment_statements_run", "run_id"),
    )


class Sale(IdMixin, Base):
    """One delivered consignment leg: what really sold, with the commission fixed then."""

    __tablename__ = "consignment_sales"

    leg_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    order_id: Mapped[uuid.UUID]
    listing_id: Mapped[uuid.UUID | None]
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consignment_agreements.id"))
    cooperative_id: Mapped[uuid.UUID]
    consignor_id: Mapped[uuid.UUID]
    buyer_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    quantity: Mapped[int]
    unit_price: Mapped[int]
    gross_amount: Mapped[int]
    commission_bps: Mapped[int]
    commission_amount: Mapped[int]
    vat_amount: Mapped[int]
    sold_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    statement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consignment_statements.id"))

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("gross_amount = quantity * unit_price", name="gross_is_quantity_price"),
        CheckConstraint(
            "commission_amount >= 0 AND commission_amount <= gross_amount",
            name="commission_within_gross",
        ),
        CheckConstraint("vat_amount >= 0", name="vat_not_negative"),
        # The settlement's work list: unsettled sales of one cooperative.
        Index(
            "ix_consignment_sales_unsettled",
            "cooperative_id",
            "consignor_id",
            "sold_at",
            postgresql_where=text("statement_id IS NULL"),
        ),
        Index("ix_consignment_sales_statement", "statement_id"),
    )


class Return(IdMixin, Base):
    """Goods handed back to the consignor: stock leaves, nothing becomes payable."""

    __tablename__ = "consignment_returns"

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consignment_agreements.id"))
    cooperative_id: Mapped[uuid.UUID]
    consignor_id: Mapped[uuid.UUID]
    listing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("listings.id"))
    intake_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consignment_intakes.id"))
    quantity: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500))
    returned_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    statement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consignment_statements.id"))

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index(
            "ix_consignment_returns_unsettled",
            "cooperative_id",
            "consignor_id",
            postgresql_where=text("statement_id IS NULL"),
        ),
        Index("ix_consignment_returns_statement", "statement_id"),
    )


class Payout(IdMixin, TimestampMixin, Base):
    __tablename__ = "consignment_payouts"

    statement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("consignment_statements.id"), unique=True
    )
    cooperative_id: Mapped[uuid.UUID]
    consignor_id: Mapped[uuid.UUID]
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    bank_name: Mapped[str] = mapped_column(String(100))
    bank_account_number: Mapped[str] = mapped_column(String(34))
    bank_account_holder: Mapped[str] = mapped_column(String(200))
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    paid_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "(status = 'paid') = (paid_at IS NOT NULL AND bank_reference IS NOT NULL)",
            name="paid_has_reference",
        ),
        Index("ix_consignment_payouts_cooperative", "cooperative_id", "id"),
    )


__all__ = [
    "Agreement",
    "Intake",
    "Payout",
    "Return",
    "Sale",
    "SettlementRun",
    "Statement",
]
