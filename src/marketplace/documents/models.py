"""Tables of the documents context.

`documents` holds each issued paper once: per (kind, subject, issuer) — the same object
always gets the same document — and per (issuer, series, year, sequence) — no number twice.
`documents_counters` is the last sequence handed out per issuer, series and year; it is
taken with `INSERT … ON CONFLICT DO UPDATE … RETURNING` in the transaction that inserts the
document, so a number is used exactly when its document commits (no gaps, no duplicates).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin, enum_column
from marketplace.documents.domain import DocumentKind


class Document(IdMixin, TimestampMixin, Base):
    __tablename__ = "documents"

    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, 32))
    subject_id: Mapped[uuid.UUID]
    """The leg, order, purchase order or statement the document is of."""
    issuer_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    counterparty_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    series: Mapped[str] = mapped_column(String(8))
    year: Mapped[int]
    sequence: Mapped[int]
    number: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    total: Mapped[int]
    # 128 random bits, URL-safe: what the QR code's verification address carries.
    public_token: Mapped[str] = mapped_column(String(32), unique=True)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (
        UniqueConstraint("kind", "subject_id", "issuer_organization_id"),
        UniqueConstraint("issuer_organization_id", "series", "year", "sequence"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        Index("ix_documents_issuer", "issuer_organization_id", "id"),
    )


class DocumentCounter(Base):
    __tablename__ = "documents_counters"

    issuer_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), primary_key=True
    )
    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int]

    __table_args__ = (CheckConstraint("last > 0", name="last_positive"),)
