"""Tables of the payments context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin, enum_column
from marketplace.payments.domain import PaymentMethod, PaymentStatus, RefundChannel, RefundStatus


class Payment(IdMixin, TimestampMixin, Base):
    """One attempt to pay one order, by card, bank transfer or treasury."""

    __tablename__ = "payments"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"))
    buyer_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    # The order's suppliers at payment time: they may see and confirm the payment.
    payee_organization_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(PG_UUID(as_uuid=True)))
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod, 16))
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus, 16))
    amount: Mapped[int]
    fee: Mapped[int] = mapped_column(default=0)
    refunded_amount: Mapped[int] = mapped_column(default=0)
    # Stripe's PaymentIntent id (card payments).
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    client_secret: Mapped[str | None] = mapped_column(String(255))
    # Bank transfer: the virtual-account number the buyer pays into.
    virtual_account: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[dt.datetime | None]
    # What finance recorded when the money arrived (bank reference, SP2D number).
    confirmation_reference: Mapped[str | None] = mapped_column(String(100))
    confirmed_by_api_key_id: Mapped[uuid.UUID | None]
    confirmed_by_person_id: Mapped[uuid.UUID | None]
    failure_code: Mapped[str | None] = mapped_column(String(100))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    succeeded_at: Mapped[dt.datetime | None]
    # Set when the order was cancelled: money arriving later is refunded at once.
    order_cancelled_at: Mapped[dt.datetime | None]
    created_by_api_key_id: Mapped[uuid.UUID | None]
    created_by_person_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        Index("ix_payments_order", "order_id", "id"),
        # At most one payment per order in flight or paid; failed/cancelled ones may repeat.
        Index(
            "uq_payments_open_per_order",
            "order_id",
            unique=True,
            postgresql_where=text(
                "status IN ('pending', 'requires_action', 'processing', 'succeeded')"
            ),
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_amount"
        ),
    )


class Refund(IdMixin, TimestampMixin, Base):
    """Money given back for a payment (in full: one refund per payment)."""

    __tablename__ = "payment_refunds"

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), unique=True)
    buyer_organization_id: Mapped[uuid.UUID]
    channel: Mapped[RefundChannel] = mapped_column(enum_column(RefundChannel, 16))
    status: Mapped[RefundStatus] = mapped_column(enum_column(RefundStatus, 16))
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(32))
    provider_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Bank refunds: the transfer reference finance recorded.
    reference: Mapped[str | None] = mapped_column(String(100))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    completed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index(
            "ix_payment_refunds_unsubmitted",
            "created_at",
            postgresql_where=text(
                "status = 'pending' AND channel = 'stripe' AND provider_refund_id IS NULL"
            ),
        ),
    )


class StripeEvent(IdMixin, Base):
    """The inbox of Stripe webhook events: stored once per Stripe event id, handled once."""

    __tablename__ = "stripe_events"

    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    # Stripe's `created` (when the event happened at Stripe).
    occurred_at: Mapped[dt.datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    handled_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        Index(
            "ix_stripe_events_unhandled",
            "received_at",
            postgresql_where=text("handled_at IS NULL"),
        ),
    )
