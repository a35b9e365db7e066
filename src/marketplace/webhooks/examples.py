"""Examples of the webhooks API: see `marketplace.contract_examples`. KKMP Blooto's ERP
receives its orders' events."""

from __future__ import annotations

from typing import Any

from marketplace.example_cast import AT, LATER, WEBHOOK_ENDPOINT, example_id

URL = "https://erp.kkmpblooto.co.id/hooks/koperasi"
EVENTS = ["order.placed", "order.cancelled", "payment.succeeded"]
ENDPOINT: dict[str, Any] = {
    "id": WEBHOOK_ENDPOINT,
    "url": URL,
    "description": "ERP gudang Blooto",
    "event_types": EVENTS,
    "all_organizations": False,
    "enabled": True,
    "disabled_reason": None,
    "disabled_at": None,
    "consecutive_failures": 0,
}

REQUESTS: dict[str, Any] = {
    "WebhookEndpointCreate": {
        "url": URL,
        "event_types": EVENTS,
        "description": "ERP gudang Blooto",
    },
    "WebhookEndpointUpdate": {"enabled": True, "event_types": [*EVENTS, "order.leg.delivered"]},
}

RESPONSES: dict[str, dict[str, Any]] = {
    "WebhookEndpointOut": ENDPOINT,
    "WebhookEndpointCreated": {
        **ENDPOINT,
        "secret": "whsec_MfKQ9r+hxGyB7hjv0FGQ8mJw5lF2xkV1pE3Zg6c4oTA=",
    },
    "WebhookDeliveryOut": {
        "id": example_id("webhook delivery"),
        "event_type": "order.placed",
        "state": "delivered",
        "attempt_count": 2,
        "next_attempt_at": None,
        "last_status_code": 200,
        "last_error": None,
        "delivered_at": LATER,
    },
    "WebhookAttemptOut": {
        "attempt": 1,
        "attempted_at": AT,
        "status_code": 503,
        "error": None,
        "duration_ms": 412,
        "next_attempt_at": "2026-12-07T08:15:30+07:00",
    },
}
