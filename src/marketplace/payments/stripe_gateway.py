"""`PaymentGateway` on Stripe: PaymentIntents and refunds through the async `StripeClient`.

IDR is a two-decimal currency at Stripe, so rupiah are converted with
`money.to_stripe_minor_units` here and nowhere else. The API version is pinned so a Stripe
account upgrade can't change the shapes we read. `STRIPE_API_BASE` points the client at
another Stripe-compatible server (the test suite's localstripe).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import stripe
from stripe.params import PaymentIntentCreateParams

from marketplace.money import Rupiah, to_stripe_minor_units
from marketplace.payments.domain import InvalidSignature, PaymentStatus, RefundStatus
from marketplace.payments.domain.gateway import (
    CardCharge,
    GatewayRejected,
    GatewayUnavailable,
    PaymentGateway,
    ProviderRefund,
)
from marketplace.settings import Settings

STRIPE_API_VERSION = "2026-10-28.endive"
"""The API version this code was written and tested against (the SDK's own)."""

PLACEHOLDER_API_KEY = "sk_test_local"
"""The development default: no Stripe account. Card payments need a real test key or an
`STRIPE_API_BASE` pointing at a Stripe-compatible server."""

REQUEST_TIMEOUT_SECONDS = 20.0

INTENT_STATUS: dict[str, PaymentStatus] = {
    "requires_payment_method": PaymentStatus.FAILED,  # after a confirm: declined
    "requires_confirmation": PaymentStatus.PENDING,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "processing": PaymentStatus.PROCESSING,
    "requires_capture": PaymentStatus.PROCESSING,
    "canceled": PaymentStatus.CANCELLED,
    "succeeded": PaymentStatus.SUCCEEDED,
}
REFUND_STATUS: dict[str, RefundStatus] = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


def card_payments_configured(settings: Settings) -> bool:
    return bool(settings.stripe_api_key) and (
        settings.stripe_api_key != PLACEHOLDER_API_KEY or settings.stripe_api_base is not None
    )


class StripeGateway:
    """`allow_only_cards` sends ``allowed_payment_method_types=["card"]``, which the pinned
    API version needs so that a confirmed card intent doesn't ask for a `return_url`
    (redirect-based methods are excluded; `payment_method_types` is refused since
    2026-09-30.endive). Stripe-compatible stand-ins (`STRIPE_API_BASE`, e.g. localstripe)
    speak an older API and refuse that parameter, so it is left out for them."""

    def __init__(self, client: stripe.StripeClient, *, allow_only_cards: bool = True) -> None:
        self.client = client
        self.allow_only_cards = allow_only_cards

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeGateway:
        base_addresses: Any = (
            {"api": settings.stripe_api_base.rstrip("/")} if settings.stripe_api_base else None
        )
        return cls(
            stripe.StripeClient(
                settings.stripe_api_key,
                http_client=stripe.HTTPXClient(timeout=REQUEST_TIMEOUT_SECONDS),
                base_addresses=base_addresses,
                stripe_version=STRIPE_API_VERSION,
                max_network_retries=2,
            ),
            allow_only_cards=settings.stripe_api_base is None,
        )

    async def charge_card(
        self,
        *,
        payment_id: uuid.UUID,
        order_id: uuid.UUID,
        amount: Rupiah,
        payment_method: str,
        idempotency_key: str,
    ) -> CardCharge:
        params: PaymentIntentCreateParams = {
            "amount": to_stripe_minor_units(amount),
            "currency": "idr",
            "payment_method": payment_method,
            "confirm": True,
            "metadata": {"payment_id": str(payment_id), "order_id": str(order_id)},
        }
        if self.allow_only_cards:
            params["allowed_payment_method_types"] = ["card"]
        try:
            intent = await self.client.v1.payment_intents.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            return CardCharge(
                provider_payment_id=_intent_id_of(exc),
                status=PaymentStatus.FAILED.value,
                failure_code=exc.code or "card_declined",
                failure_message=exc.user_message or "The card was declined.",
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        status = INTENT_STATUS.get(intent.status, PaymentStatus.PROCESSING)
        error = getattr(intent, "last_payment_error", None)
        return CardCharge(
            provider_payment_id=intent.id,
            status=status.value,
            client_secret=intent.client_secret,
            failure_code=getattr(error, "code", None) if status is PaymentStatus.FAILED else None,
            failure_message=getattr(error, "message", None)
            if status is PaymentStatus.FAILED
            else None,
        )

    async def cancel_card(self, *, provider_payment_id: str, idempotency_key: str) -> str:
        try:
            intent = await self.client.v1.payment_intents.cancel_async(
                provider_payment_id, None, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return INTENT_STATUS.get(intent.status, PaymentStatus.PROCESSING).value

    async def refund(
        self,
        *,
        refund_id: uuid.UUID,
        provider_payment_id: str,
        amount: Rupiah,
        idempotency_key: str,
    ) -> ProviderRefund:
        try:
            refund = await self.client.v1.refunds.create_async(
                {
                    "payment_intent": provider_payment_id,
                    "amount": to_stripe_minor_units(amount),
                    "metadata": {"refund_id": str(refund_id)},
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        status = REFUND_STATUS.get(refund.status or "pending", RefundStatus.PENDING)
        return ProviderRefund(provider_refund_id=refund.id, status=status.value)


def _intent_id_of(exc: stripe.StripeError) -> str | None:
    body = exc.json_body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            intent = error.get("payment_intent")
            if isinstance(intent, dict) and isinstance(intent.get("id"), str):
                return str(intent["id"])
    return None


def _translate(exc: stripe.StripeError) -> Exception:
    status = exc.http_status or 0
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or status >= 500:
        return GatewayUnavailable(str(exc.user_message or exc))
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return GatewayUnavailable("The Stripe API key was refused: check STRIPE_API_KEY.")
    return GatewayRejected(str(exc.user_message or exc), code=exc.code)


_gateways: dict[tuple[str, str | None, int], StripeGateway] = {}


def gateway_for(settings: Settings) -> PaymentGateway | None:
    """The shared gateway for these settings and this event loop (its HTTP connection
    pool belongs to the loop); None when card payments aren't configured."""
    if not card_payments_configured(settings):
        return None
    key = (settings.stripe_api_key, settings.stripe_api_base, id(asyncio.get_running_loop()))
    gateway = _gateways.get(key)
    if gateway is None:
        gateway = _gateways[key] = StripeGateway.from_settings(settings)
    return gateway


WEBHOOK_TOLERANCE_SECONDS = 300


def verify_webhook_signature(
    payload: bytes, header: str | None, secret: str, tolerance: int = WEBHOOK_TOLERANCE_SECONDS
) -> None:
    """Check `Stripe-Signature` (``t=…,v1=HMAC_SHA256(secret, "{t}.{payload}")``) with
    Stripe's own verifier; also refuse time stamps from further than `tolerance` in the
    future (Stripe's verifier only refuses old ones)."""
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
        text = payload.decode("utf-8")
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise InvalidSignature(
            "The Stripe-Signature header does not verify with the webhook secret.",
            header="Stripe-Signature",
        ) from exc
    timestamps = [
        part.partition("=")[2] for part in (header or "").split(",") if part.startswith("t=")
    ]
    if text and timestamps and int(timestamps[0]) > time.time() + tolerance:
        raise InvalidSignature(
            "The Stripe-Signature time stamp is in the future.", header="Stripe-Signature"
        )
