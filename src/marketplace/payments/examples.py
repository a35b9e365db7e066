"""Examples of the payments API: see `marketplace.contract_examples`. SPPG Mojokerto
Magersari 1 pays its rice order by bank transfer to a virtual account."""

from __future__ import annotations

from typing import Any

from marketplace.example_cast import PAYMENT, example_id

REQUESTS: dict[str, Any] = {
    "PaymentCreate": {"method": "bank_transfer"},
    "PaymentConfirm": {"reference": "BNI 20261207 0081234567"},
    "RefundConfirm": {"reference": "BRI-TRF-20261209-0031882"},
}

RESPONSES: dict[str, dict[str, Any]] = {
    "PaymentOut": {
        "id": PAYMENT,
        "method": "bank_transfer",
        "status": "pending",
        "amount": 1_370_000,
        "refunded_amount": 0,
        "provider_payment_id": None,
        "client_secret": None,
        "instructions": {
            "virtual_account": "8808350996647273",
            "amount": 1_370_000,
            "currency": "IDR",
            "expires_at": "2026-12-08T08:15:00+07:00",
            "note": "Transfer exactly this amount to the virtual account before it expires.",
        },
        "confirmation_reference": None,
        "succeeded_at": None,
        "refunds": [],
    },
    "RefundOut": {
        "id": example_id("refund"),
        "channel": "bank",
        "status": "pending",
        "amount": 68_500,
        "reason": "1 karung kurang saat diterima",
        "reference": None,
        "completed_at": None,
    },
    "StripeWebhookAck": {
        "received": True,
        "event_id": "evt_3QkZ8vLr2nXb1Yt40aBcD9eF",
        "duplicate": False,
    },
}
