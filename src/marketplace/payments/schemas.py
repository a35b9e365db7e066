"""HTTP request/response shapes of the payments context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from marketplace.payments.domain import PaymentMethod, PaymentStatus, RefundChannel, RefundStatus

Currency = Literal["IDR"]
# Stripe ids: pm_..., card_..., src_...
StripePaymentMethodId = Annotated[
    str, msgspec.Meta(min_length=4, max_length=255, pattern=r"^(pm|card|src)_[A-Za-z0-9_]+$")
]
Reference = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./:_-]*$")
]


class PaymentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    method: PaymentMethod
    # card only: the Stripe PaymentMethod to charge (e.g. `pm_card_visa` in test mode).
    payment_method: StripePaymentMethodId | None = None


class PaymentConfirm(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # The bank transfer reference or the treasury's SP2D number.
    reference: Reference


class RefundConfirm(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # The reference of the transfer that paid the buyer back.
    reference: Reference


class BankTransferInstructions(msgspec.Struct, kw_only=True):
    virtual_account: str
    amount: int
    currency: Currency
    expires_at: dt.datetime
    note: str


class RefundOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    payment_id: uuid.UUID
    channel: RefundChannel
    status: RefundStatus
    amount: int
    currency: Currency
    reason: str
    provider_refund_id: str | None
    reference: str | None
    failure_message: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None


class PaymentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    order_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    method: PaymentMethod
    status: PaymentStatus
    amount: int
    refunded_amount: int
    currency: Currency
    provider_payment_id: str | None
    # card: for Stripe.js to finish a payment that requires action (buyer only).
    client_secret: str | None
    instructions: BankTransferInstructions | None
    confirmation_reference: str | None
    failure_code: str | None
    failure_message: str | None
    succeeded_at: dt.datetime | None
    refunds: list[RefundOut]
    created_at: dt.datetime


class PaymentPage(msgspec.Struct, kw_only=True):
    items: list[PaymentOut]
    next_cursor: str | None


class StripeWebhookAck(msgspec.Struct, kw_only=True):
    received: bool
    event_id: str
    duplicate: bool  # already stored: this delivery changes nothing
