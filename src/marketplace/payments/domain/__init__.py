"""Pure payment rules: methods, the payment state order, refunds, Stripe event meaning.

A payment's status only ever moves *up* `STATUS_RANK`. Provider events arrive late,
twice, or out of order (a refund notice before the success notice); applying "the higher
rank wins" makes the final state the same whatever the arrival order, and a duplicate or
stale event a no-op.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import msgspec

from marketplace.errors import BadRequest, Conflict, DomainError, ValidationFailed


class PaymentMethod(enum.StrEnum):
    CARD = "card"  # Stripe PaymentIntent
    BANK_TRANSFER = "bank_transfer"  # virtual-account transfer, confirmed by finance
    TREASURY = "treasury"  # government treasury (SP2D), settled later, confirmed by finance


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # created; waiting for the buyer's money
    REQUIRES_ACTION = "requires_action"  # the card needs the buyer (e.g. 3-D Secure)
    PROCESSING = "processing"  # the provider is working on it
    FAILED = "failed"  # declined or failed; the order may be paid again
    CANCELLED = "cancelled"  # abandoned (order cancelled before money arrived)
    SUCCEEDED = "succeeded"  # money received (posted to the ledger)
    REFUNDED = "refunded"  # money returned in full


STATUS_RANK: dict[PaymentStatus, int] = {
    PaymentStatus.PENDING: 0,
    PaymentStatus.REQUIRES_ACTION: 1,
    PaymentStatus.PROCESSING: 2,
    PaymentStatus.FAILED: 3,
    PaymentStatus.CANCELLED: 4,
    PaymentStatus.SUCCEEDED: 5,
    PaymentStatus.REFUNDED: 6,
}

# Payments that block another payment of the same order.
OPEN_STATUSES = frozenset(
    {
        PaymentStatus.PENDING,
        PaymentStatus.REQUIRES_ACTION,
        PaymentStatus.PROCESSING,
        PaymentStatus.SUCCEEDED,
    }
)
IN_FLIGHT_STATUSES = frozenset(
    {PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PROCESSING}
)


def advances(current: PaymentStatus, new: PaymentStatus) -> bool:
    """Whether `new` replaces `current` (strictly higher rank)."""
    return STATUS_RANK[new] > STATUS_RANK[current]


def crossed_success(before: PaymentStatus, after: PaymentStatus) -> bool:
    """Money arrived in this step (also when the step jumps straight to refunded)."""
    success = STATUS_RANK[PaymentStatus.SUCCEEDED]
    return STATUS_RANK[before] < success <= STATUS_RANK[after]


class RefundStatus(enum.StrEnum):
    PENDING = "pending"  # granted; waiting for the provider or for finance to pay it
    SUCCEEDED = "succeeded"  # the money left
    FAILED = "failed"  # the provider refused; the ledger posting is reversed


class RefundChannel(enum.StrEnum):
    STRIPE = "stripe"
    BANK = "bank"  # paid back by transfer, confirmed by finance


def refund_channel(method: PaymentMethod) -> RefundChannel:
    return RefundChannel.STRIPE if method is PaymentMethod.CARD else RefundChannel.BANK


# --- bank transfer instructions ----------------------------------------------------

BANK_TRANSFER_VALIDITY = dt.timedelta(days=3)
VIRTUAL_ACCOUNT_PREFIX = "8808"  # the platform's company code at its bank


def virtual_account_number(payment_id: uuid.UUID) -> str:
    """A 16-digit virtual-account number unique to the payment (prefix + 12 digits + a
    Luhn check digit), so a transfer identifies its payment without a free-text note."""
    body = VIRTUAL_ACCOUNT_PREFIX + f"{payment_id.int % 10**11:011d}"
    return body + str(luhn_check_digit(body))


def luhn_check_digit(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


# --- errors ---------------------------------------------------------------------------


class CardUnavailable(ValidationFailed):
    code = "payments.card_unavailable"
    title = "Card payments are not configured"


class OrderNotPayable(Conflict):
    code = "payments.order_not_payable"
    title = "This order can't be paid"


class NothingToPay(Conflict):
    code = "payments.nothing_to_pay"
    title = "Nothing is owed on this order"


class PaymentAlreadyOpen(Conflict):
    code = "payments.already_open"
    title = "The order already has a payment in progress or paid"


class TreasuryNotAllowed(DomainError):
    code = "payments.treasury_not_allowed"
    status = 403
    title = "Only government buyers pay through the treasury"


class NotConfirmable(Conflict):
    code = "payments.not_confirmable"
    title = "This payment can't be confirmed"


class ReferenceMismatch(Conflict):
    code = "payments.reference_mismatch"
    title = "Already confirmed with another reference"


class MissingPaymentMethod(ValidationFailed):
    code = "payments.payment_method_required"
    title = "A card payment needs a payment_method"


class ProviderUnavailable(DomainError):
    code = "payments.provider_unavailable"
    status = 503
    title = "The payment provider could not be reached; retry with the same Idempotency-Key"


class ProviderRejected(ValidationFailed):
    code = "payments.provider_rejected"
    title = "The payment provider rejected the request"


class InvalidSignature(BadRequest):
    code = "payments.invalid_signature"
    title = "The Stripe-Signature header does not verify"


class InvalidStripeEvent(BadRequest):
    code = "payments.invalid_event"
    title = "The body is not a Stripe event"


# --- Stripe events --------------------------------------------------------------------


class StripeUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """What one Stripe event says about one of our payments."""

    payment_id: uuid.UUID | None  # from metadata.payment_id, when present
    provider_payment_id: str | None  # the PaymentIntent id
    status: PaymentStatus | None  # the status it implies (None: only refund news)
    failure_code: str | None = None
    failure_message: str | None = None
    refunded_minor: int | None = None  # cumulative amount refunded, provider units
    refund_id: uuid.UUID | None = None  # our refund, from the refund's metadata
    provider_refund_id: str | None = None
    refund_failed: bool = False


_INTENT_STATUS: dict[str, PaymentStatus] = {
    "payment_intent.created": PaymentStatus.PENDING,
    "payment_intent.requires_action": PaymentStatus.REQUIRES_ACTION,
    "payment_intent.processing": PaymentStatus.PROCESSING,
    "payment_intent.amount_capturable_updated": PaymentStatus.PROCESSING,
    "payment_intent.partially_funded": PaymentStatus.PROCESSING,
    "payment_intent.payment_failed": PaymentStatus.FAILED,
    "payment_intent.canceled": PaymentStatus.CANCELLED,
    "payment_intent.succeeded": PaymentStatus.SUCCEEDED,
}
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "charge.refund.updated"})


def _uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def interpret_stripe_event(event_type: str, obj: dict[str, Any]) -> StripeUpdate | None:
    """The meaning of a Stripe event for our payments; None for events we don't use."""
    if event_type in _INTENT_STATUS:
        error = obj.get("last_payment_error")
        error = error if isinstance(error, dict) else {}
        failed = _INTENT_STATUS[event_type] is PaymentStatus.FAILED
        return StripeUpdate(
            payment_id=_uuid(_metadata(obj).get("payment_id")),
            provider_payment_id=_str(obj.get("id")),
            status=_INTENT_STATUS[event_type],
            failure_code=_str(error.get("decline_code") or error.get("code")) if failed else None,
            failure_message=_str(error.get("message")) if failed else None,
        )
    if event_type == "charge.refunded":
        refunded = obj.get("amount_refunded")
        refunds = obj.get("refunds")
        data = refunds.get("data") if isinstance(refunds, dict) else None
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        if not isinstance(refunded, int) or isinstance(refunded, bool):
            amount = obj.get("amount")
            refunded = amount if obj.get("refunded") is True and isinstance(amount, int) else None
        return StripeUpdate(
            payment_id=_uuid(_metadata(obj).get("payment_id")),
            provider_payment_id=_str(obj.get("payment_intent")),
            status=None,
            refunded_minor=refunded,
            refund_id=_uuid(_metadata(first).get("refund_id")),
            provider_refund_id=_str(first.get("id")),
        )
    if event_type in REFUND_EVENTS:
        status = obj.get("status")
        amount = obj.get("amount")
        return StripeUpdate(
            payment_id=None,
            provider_payment_id=_str(obj.get("payment_intent")),
            status=None,
            refunded_minor=amount if status == "succeeded" and isinstance(amount, int) else None,
            refund_id=_uuid(_metadata(obj).get("refund_id")),
            provider_refund_id=_str(obj.get("id")),
            refund_failed=status in ("failed", "canceled"),
        )
    return None
