"""The payments context's events (see `marketplace.events`): a payment's buyer and each
payee follow its status."""

from __future__ import annotations

import uuid
from typing import ClassVar

from marketplace.events import Currency, PartnerEvent
from marketplace.money import Rupiah
from marketplace.payments.domain import PaymentMethod, PaymentStatus


class PaymentChanged(PartnerEvent, frozen=True, kw_only=True):
    """What each payment event carries (the type says which status was reached)."""

    payment_id: uuid.UUID
    order_id: uuid.UUID
    method: PaymentMethod
    status: PaymentStatus
    amount: Rupiah
    currency: Currency = "IDR"


class PaymentSucceeded(PaymentChanged, frozen=True, kw_only=True):
    """The payment's money arrived: to the buyer and each payee."""

    event_type: ClassVar[str] = "payment.succeeded"


class PaymentFailed(PaymentChanged, frozen=True, kw_only=True):
    """The payment was declined or failed (the order may be paid again): to the buyer and
    each payee."""

    event_type: ClassVar[str] = "payment.failed"


class PaymentRefunded(PaymentChanged, frozen=True, kw_only=True):
    """The payment was refunded in full: to the buyer and each payee."""

    event_type: ClassVar[str] = "payment.refunded"


PAYMENT_EVENTS: dict[PaymentStatus, type[PaymentChanged]] = {
    PaymentStatus.SUCCEEDED: PaymentSucceeded,
    PaymentStatus.FAILED: PaymentFailed,
    PaymentStatus.REFUNDED: PaymentRefunded,
}

__all__ = [
    "PAYMENT_EVENTS",
    "PaymentChanged",
    "PaymentFailed",
    "PaymentRefunded",
    "PaymentSucceeded",
]
