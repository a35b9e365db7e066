"""Refunds of cancelled orders and the provider calls behind them (worker side; never
commits).

A cancelled order's payments are refunded when paid, voided when nobody has paid the
instruction yet, and cancelled at Stripe when a card payment is still in flight (should it
succeed anyway, it is refunded at once); card refunds are then submitted to Stripe by a job.
Locks: the payment row first, then its refund — in every path.
"""

from __future__ import annotations

import datetime as dt
import uuid

from marketplace.db import UnitOfWork
from marketplace.payments.domain import (
    IN_FLIGHT_STATUSES,
    PaymentMethod,
    PaymentStatus,
    RefundChannel,
    RefundStatus,
)
from marketplace.payments.domain.gateway import GatewayRejected, GatewayUnavailable, PaymentGateway
from marketplace.payments.lifecycle import (
    CANCEL_CARD_JOB,
    PaymentLifecycle,
    cancel_card_job_id,
)
from marketplace.payments.repository import PaymentRepository


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RefundService:
    def __init__(self, uow: UnitOfWork, gateway: PaymentGateway | None = None) -> None:
        self.uow = uow
        self.gateway = gateway
        self.payments = PaymentRepository(uow.session)
        self.lifecycle = PaymentLifecycle(uow)

    # --- reacting to orders -----------------------------------------------------------

    async def on_order_cancelled(self, order_id: uuid.UUID) -> None:
        """Refund what was paid; void instructions nobody has paid yet; ask Stripe to
        cancel a card payment still in flight (should it succeed anyway, it is refunded
        at once)."""
        await self.payments.lock_order_payments(order_id)  # waits for a payment being made
        now = _now()
        for payment in await self.payments.of_order(order_id, for_update=True):
            if payment.order_cancelled_at is None:
                payment.order_cancelled_at = now
            status = PaymentStatus(payment.status)
            if status is PaymentStatus.SUCCEEDED:
                await self.lifecycle.grant_refund(payment, reason="order_cancelled")
            elif status in IN_FLIGHT_STATUSES:
                if payment.method == PaymentMethod.CARD and payment.provider_payment_id:
                    self.lifecycle.schedule(
                        CANCEL_CARD_JOB, payment.id, cancel_card_job_id(payment.id)
                    )
                elif payment.method != PaymentMethod.CARD:
                    await self.lifecycle.advance(payment, PaymentStatus.CANCELLED)
        await self.payments.flush()

    async def cancel_card(self, payment_id: uuid.UUID) -> str:
        """Cancel an in-flight card payment of a cancelled order at Stripe (worker side)."""
        payment = await self.payments.get(payment_id, for_update=True)
        if payment is None:
            return "missing"
        if (
            payment.method != PaymentMethod.CARD
            or payment.provider_payment_id is None
            or PaymentStatus(payment.status) not in IN_FLIGHT_STATUSES
        ):
            return "nothing_to_cancel"
        if self.gateway is None:
            raise GatewayUnavailable("Card payments need Stripe to be configured.")
        try:
            status = await self.gateway.cancel_card(
                provider_payment_id=payment.provider_payment_id,
                idempotency_key=f"payment:{payment.id}:cancel",
            )
        except GatewayRejected:
            # Too late to cancel (it is succeeding): Stripe's event will bring the
            # success, and a success on a cancelled order is refunded at once.
            return "rejected"
        await self.lifecycle.advance(payment, PaymentStatus(status))
        await self.payments.flush()
        return status

    async def submit_refund(self, refund_id: uuid.UUID) -> str:
        """Ask Stripe to refund (worker side). Idempotent: the provider's idempotency key
        is derived from our refund id, and a submitted refund is never sent again."""
        found = await self.payments.get_refund(refund_id)
        if found is None:
            return "missing"
        payment = await self.payments.get(found.payment_id, for_update=True)
        refund = await self.payments.get_refund(refund_id, for_update=True)
        assert payment is not None
        assert refund is not None
        if refund.status != RefundStatus.PENDING or refund.provider_refund_id is not None:
            return "already_submitted"
        if refund.channel != RefundChannel.STRIPE or payment.provider_payment_id is None:
            return "not_a_card_refund"
        if self.gateway is None:
            raise GatewayUnavailable("Card refunds need Stripe to be configured.")
        try:
            result = await self.gateway.refund(
                refund_id=refund.id,
                provider_payment_id=payment.provider_payment_id,
                amount=refund.amount,
                idempotency_key=f"refund:{refund.id}:create",
            )
        except GatewayRejected as exc:
            await self.lifecycle.fail_refund(refund, str(exc))
            await self.payments.flush()
            return "rejected"
        refund.provider_refund_id = result.provider_refund_id
        status = RefundStatus(result.status)
        if status is RefundStatus.SUCCEEDED:
            await self.lifecycle.complete_refund(payment, refund)
        elif status is RefundStatus.FAILED:
            await self.lifecycle.fail_refund(refund, "The provider refused the refund.")
        await self.payments.flush()
        return status.value
