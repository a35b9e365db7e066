"""The payment gateway port (pure): what the payments context asks of a card provider.

Amounts cross this port in whole rupiah; an adapter converts to its provider's units at
its own edge. Every call carries an idempotency key derived from our ids, so a retried
call is recognised by the provider and never charges or refunds twice.
"""

from __future__ import annotations

import uuid
from typing import Protocol

import msgspec

from marketplace.money import Rupiah


class CardCharge(msgspec.Struct, frozen=True, kw_only=True):
    """The provider's answer to a card payment."""

    provider_payment_id: str | None
    status: str  # our PaymentStatus value
    client_secret: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class ProviderRefund(msgspec.Struct, frozen=True, kw_only=True):
    provider_refund_id: str
    status: str  # our RefundStatus value


class GatewayUnavailable(Exception):
    """The provider could not be reached or failed on its side; safe to retry."""


class GatewayRejected(Exception):
    """The provider refused the request itself (bad parameters, nothing to refund...)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PaymentGateway(Protocol):
    async def charge_card(
        self,
        *,
        payment_id: uuid.UUID,
        order_id: uuid.UUID,
        amount: Rupiah,
        payment_method: str,
        idempotency_key: str,
    ) -> CardCharge:
        """Create and confirm a card payment. A decline is a `CardCharge` with status
        ``failed``, not an exception."""
        ...

    async def cancel_card(self, *, provider_payment_id: str, idempotency_key: str) -> str:
        """Cancel a card payment nobody has finished paying; returns our PaymentStatus
        value after it. Raises `GatewayRejected` when it can no longer be cancelled."""
        ...

    async def refund(
        self,
        *,
        refund_id: uuid.UUID,
        provider_payment_id: str,
        amount: Rupiah,
        idempotency_key: str,
    ) -> ProviderRefund: ...
