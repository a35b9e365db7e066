"""Tables of government sourcing.

Lines (RFQ items, quote prices, purchase-order lines, receipt and invoice lines) are
JSONB on their parent row: they are always read and written with it, under its lock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin, enum_column
from marketplace.procurement.sourcing.domain import (
    EvaluationRule,
    PurchaseOrderStatus,
    QuoteStatus,
    RfqStatus,
)


class Rfq(IdMixin, TimestampMixin, Base):
    __tablename__ = "sourcing_rfqs"

    buyer_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[RfqStatus] = mapped_column(enum_column(RfqStatus, 16))
    # [{"line_no", "product_id", "quantity", "description", "unit_code", "unit_label",
    #   "category", "vat_treatment"}] — product facts frozen at publication.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    delivery_date: Mapped[dt.date] = mapped_column(Date)
    delivery_region_code: Mapped[str] = mapped_column(String(13))
    delivery_city_prefix: Mapped[str] = mapped_column(String(5))
    delivery_address: Mapped[str] = mapped_column(String(500))
    budget_code: Mapped[str] = mapped_column(String(100))
    ceiling_amount: Mapped[int | None]
    deadline: Mapped[dt.datetime]
    evaluation_rule: Mapped[EvaluationRule] = mapped_column(enum_column(EvaluationRule, 32))
    created_by_api_key_id: Mapped[uuid.UUID | None]
    created_by_person_id: Mapped[uuid.UUID | None]
    awarded_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]
    # Bumped by every change to the process (quote count, award, PO, receipt, payment):
    # what the OCDS feed's `since` filters on.
    changed_at: Mapped[dt.datetime]

    __table_args__ = (
        Index("ix_sourcing_rfqs_buyer", "buyer_organization_id", "id"),
        Index("ix_sourcing_rfqs_city_status", "delivery_city_prefix", "status", "id"),
        Index("ix_sourcing_rfqs_changed", "changed_at", "id"),
        CheckConstraint("ceiling_amount IS NULL OR ceiling_amount > 0", name="ceiling_positive"),
    )


class Quote(IdMixin, TimestampMixin, Base):
    __tablename__ = "sourcing_quotes"

    rfq_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sourcing_rfqs.id"))
    supplier_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[QuoteStatus] = mapped_column(enum_column(QuoteStatus, 16))
    # {"1": 65000, "2": 15000} — line_no → unit price (pre-VAT rupiah).
    unit_prices: Mapped[dict[str, int]] = mapped_column(JSONB)
    total: Mapped[int]
    delivery_promise_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(1000))
    submitted_at: Mapped[dt.datetime]
    submitted_by_api_key_id: Mapped[uuid.UUID | None]
    submitted_by_person_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        # One quote per cooperative per RFQ; a resubmission before the deadline replaces it.
        UniqueConstraint("rfq_id", "supplier_organization_id"),
        Index("ix_sourcing_quotes_supplier", "supplier_organization_id", "id"),
        CheckConstraint("total > 0", name="total_positive"),
    )


class PurchaseOrder(IdMixin, TimestampMixin, Base):
    """A surat pesanan: the award of one quote."""

    __tablename__ = "sourcing_purchase_orders"

    rfq_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sourcing_rfqs.id"))
    quote_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sourcing_quotes.id"), unique=True)
    buyer_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    supplier_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[PurchaseOrderStatus] = mapped_column(enum_column(PurchaseOrderStatus, 24))
    # [{"line_no", "product_id", "description", "unit_code", "vat_treatment", "quantity",
    #   "unit_price", "received_quantity"}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    subtotal: Mapped[int]
    vat: Mapped[int]
    pph22: Mapped[int]
    total: Mapped[int]
    net_payable: Mapped[int]
    award_reason: Mapped[str | None] = mapped_column(String(1000))
    cascaded_from_id: Mapped[uuid.UUID | None]
    delivery_date: Mapped[dt.date] = mapped_column(Date)
    declined_at: Mapped[dt.datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(String(1000))
    awarded_by_api_key_id: Mapped[uuid.UUID | None]
    awarded_by_person_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        # At most one live purchase order per RFQ, however awards and declines race.
        Index(
            "uq_sourcing_purchase_orders_live_rfq",
            "rfq_id",
            unique=True,
            postgresql_where=text("status <> 'declined'"),
        ),
        Index("ix_sourcing_purchase_orders_buyer", "buyer_organization_id", "id"),
        Index("ix_sourcing_purchase_orders_supplier", "supplier_organization_id", "id"),
        Index("ix_sourcing_purchase_orders_rfq", "rfq_id", "id"),
    )


class GoodsReceipt(IdMixin, TimestampMixin, Base):
    """A BAST (berita acara serah terima): quantities received against a purchase order."""

    __tablename__ = "sourcing_goods_receipts"

    purchase_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sourcing_purchase_orders.id"))
    document_number: Mapped[str | None] = mapped_column(String(100))
    received_on: Mapped[dt.date] = mapped_column(Date)
    # [{"line_no": 1, "quantity": 10}]
    lines: Mapped[list[dict[str, int]]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(String(1000))
    recorded_by_api_key_id: Mapped[uuid.UUID | None]
    recorded_by_person_id: Mapped[uuid.UUID | None]

    __table_args__ = (Index("ix_sourcing_goods_receipts_po", "purchase_order_id", "id"),)


class Invoice(IdMixin, TimestampMixin, Base):
    __tablename__ = "sourcing_invoices"

    purchase_order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sourcing_purchase_orders.id"), unique=True
    )
    buyer_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    supplier_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    # [{"line_no", "description", "quantity", "unit_price", "amount", "vat_treatment"}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    subtotal: Mapped[int]
    taxable_base: Mapped[int]
    exempt_base: Mapped[int]
    dpp: Mapped[int]
    vat: Mapped[int]
    pph22: Mapped[int]
    total: Mapped[int]
    net_payable: Mapped[int]
    ledger_transaction_id: Mapped[uuid.UUID]
    issued_by_organization_id: Mapped[uuid.UUID]

    __table_args__ = (
        CheckConstraint("net_payable = total - pph22", name="net_payable_consistent"),
        CheckConstraint("total = subtotal + vat", name="total_consistent"),
    )


class TreasuryPayment(IdMixin, TimestampMixin, Base):
    __tablename__ = "sourcing_payments"

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sourcing_invoices.id"), unique=True)
    purchase_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sourcing_purchase_orders.id"))
    sp2d_number: Mapped[str] = mapped_column(String(100))
    paid_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[int]
    ledger_transaction_id: Mapped[uuid.UUID]
    recorded_by_api_key_id: Mapped[uuid.UUID | None]
    recorded_by_person_id: Mapped[uuid.UUID | None]
    buyer_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))

    __table_args__ = (
        # An SP2D number is issued once by a treasury.
        UniqueConstraint("buyer_organization_id", "sp2d_number"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )
