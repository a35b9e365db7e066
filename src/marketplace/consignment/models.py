"""Tables of the consignment context.

Exactly-once settlement is a database rule, without touching the settled rows:

* every sale, return and adjustment takes a number from one shared, monotonically
  increasing sequence (`RECORD_SEQUENCE`) when it is recorded: its ``seq``;
* a statement settles a half-open range ``(from_seq, to_seq]`` of those numbers for one
  (cooperative, consignor); the sales, returns and adjustments in that range are the
  statement's (a sale's statement is found by a range join, nothing is written on it);
* the migration adds what makes that exactly-once: an exclusion constraint (btree_gist)
  refusing two statements of one pair whose ranges overlap (no record in two
  statements), a unique ``from_seq`` per pair and a trigger requiring each statement to
  start where the pair's previous one ended (no record skipped), and triggers refusing
  any change to a statement or to a settled record (nothing moves out of its range).

A sequence number is taken before its transaction commits, so a record with a lower
number can become visible after a run chose its range; recording a record and running a
settlement therefore take the cooperative's advisory lock, shared and exclusive (see
`repository.settlement_lock_key`), so a run never starts while a record of its cooperative
is in flight.
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
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.consignment.domain import AgreementStatus, IntakeStatus, PayoutStatus
from marketplace.db import Base, IdMixin, TimestampMixin, enum_column

RECORD_SEQUENCE = "consignment_record_seq"
"""The sequence numbering sales, returns and adjustments (made by the migration)."""
_NEXT_SEQ = text(f"nextval('{RECORD_SEQUENCE}')")


class Agreement(IdMixin, TimestampMixin, Base):
    __tablename__ = "consignment_agreements"

    cooperative_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    consignor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    commission_bps: Mapped[int]
    settlement_cycle_days: Mapped[int]
    bank_name: Mapped[str] = mapped_column(String(100))
    bank_account_number: Mapped[str] = mapped_column(String(34))
    bank_account_holder: Mapped[str] = mapped_column(String(200))
    status: Mapped[AgreementStatus] = mapped_column(
        enum_column(AgreementStatus, 16), default=AgreementStatus.ACTIVE
    )
    ended_at: Mapped[dt.datetime | None]
    last_settled_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # The edit version, the `ETag` (`marketplace.entity_tags`): every ORM UPDATE bumps it.
    version: Mapped[int] = mapped_column(server_default=text("1"))
    __mapper_args__ = {"version_id_col": version}

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
    status: Mapped[IntakeStatus] = mapped_column(enum_column(IntakeStatus, 16))
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
    from_seq: Mapped[int]
    """Records with ``from_seq < seq <= to_seq`` of this pair are settled here."""
    to_seq: Mapped[int]

    __table_args__ = (
        CheckConstraint("from_seq >= 0 AND to_seq > from_seq", name="range_not_empty"),
        # One chain per pair: no two statements start at the same point (the migration
        # adds the exclusion constraint on overlapping ranges and the chain trigger).
        UniqueConstraint(
            "cooperative_id", "consignor_id", "from_seq", name="uq_consignment_statements_chain"
        ),
        # The pair's chain head (latest statement) is the first entry of this index.
        UniqueConstraint(
            "cooperative_id", "consignor_id", "to_seq", name="uq_consignment_statements_head"
        ),
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
    seq: Mapped[int] = mapped_column(server_default=_NEXT_SEQ)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("gross_amount = quantity * unit_price", name="gross_is_quantity_price"),
        CheckConstraint(
            "commission_amount >= 0 AND commission_amount <= gross_amount",
            name="commission_within_gross",
        ),
        CheckConstraint("vat_amount >= 0", name="vat_not_negative"),
        # A statement's totals: an index-only range scan per consignor.
        Index(
            "ix_consignment_sales_range",
            "cooperative_id",
            "consignor_id",
            "seq",
            postgresql_include=["gross_amount", "commission_amount"],
        ),
        # Where a range must stop early: the first sale at or after a past cut-off.
        Index(
            "ix_consignment_sales_sold_at",
            "cooperative_id",
            "consignor_id",
            "sold_at",
            postgresql_include=["seq"],
        ),
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
    seq: Mapped[int] = mapped_column(server_default=_NEXT_SEQ)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index(
            "ix_consignment_returns_range",
            "cooperative_id",
            "consignor_id",
            "seq",
            postgresql_include=["quantity", "returned_at"],
        ),
    )


class Adjustment(IdMixin, TimestampMixin, Base):
    """A signed money correction: positive is owed to the consignor, negative by it.

    Posted to the ledger when recorded; settled (shown and paid) by the next statement."""

    __tablename__ = "consignment_adjustments"

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consignment_agreements.id"))
    cooperative_id: Mapped[uuid.UUID]
    consignor_id: Mapped[uuid.UUID]
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None]
    """The API key that recorded it (`created_by_person_id`: the person, on the pages)."""
    created_by_person_id: Mapped[uuid.UUID | None]
    seq: Mapped[int] = mapped_column(server_default=_NEXT_SEQ)

    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index(
            "ix_consignment_adjustments_range",
            "cooperative_id",
            "consignor_id",
            "seq",
            postgresql_include=["amount", "created_at"],
        ),
        Index("ix_consignment_adjustments_consignor", "consignor_id", "id"),
        Index("ix_consignment_adjustments_cooperative", "cooperative_id", "id"),
    )


class Payout(IdMixin, TimestampMixin, Base):
    __tablename__ = "consignment_payouts"

    statement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("consignment_statements.id"), unique=True
    )
    cooperative_id: Mapped[uuid.UUID]
    consignor_id: Mapped[uuid.UUID]
    amount: Mapped[int]
    status: Mapped[PayoutStatus] = mapped_column(
        enum_column(PayoutStatus, 16), default=PayoutStatus.PENDING
    )
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
    "RECORD_SEQUENCE",
    "Adjustment",
    "Agreement",
    "Intake",
    "Payout",
    "Return",
    "Sale",
    "SettlementRun",
    "Statement",
]
