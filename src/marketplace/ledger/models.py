"""Tables of the ledger context.

Both tables are append-only: a trigger made by the migration refuses every UPDATE, DELETE
and TRUNCATE, so a posted transaction can only be corrected by posting another one.
"""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin, enum_column
from marketplace.ledger.domain import REFERENCE_MAX_LENGTH, AccountPurpose, TransactionKind


class LedgerTransaction(IdMixin, TimestampMixin, Base):
    __tablename__ = "ledger_transactions"

    reference: Mapped[str] = mapped_column(String(REFERENCE_MAX_LENGTH), unique=True)
    kind: Mapped[TransactionKind] = mapped_column(enum_column(TransactionKind, 32))
    memo: Mapped[str] = mapped_column(Text, default="")


class LedgerEntry(IdMixin, Base):
    """One line of a transaction: positive = debit, negative = credit (never zero)."""

    __tablename__ = "ledger_entries"

    transaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_transactions.id"))
    organization_id: Mapped[uuid.UUID]
    purpose: Mapped[AccountPurpose] = mapped_column(enum_column(AccountPurpose, 32))
    counterparty_id: Mapped[uuid.UUID | None]
    amount: Mapped[int]

    __table_args__ = (
        CheckConstraint("amount <> 0", name="nonzero_amount"),
        # Balances: SUM(amount) of one organization's accounts.
        Index("ix_ledger_entries_organization_id_purpose", "organization_id", "purpose"),
        # An organization's transactions in id (= time) order, for keyset pages.
        Index(
            "ix_ledger_entries_organization_id_transaction_id", "organization_id", "transaction_id"
        ),
        # The entries of a page of transactions (and the foreign key).
        Index("ix_ledger_entries_transaction_id", "transaction_id"),
    )
