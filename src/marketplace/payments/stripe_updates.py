"""Applying what Stripe tells us about a card payment or its refund (never commits).

Called by the inbox (`inbox_service.py`) once per stored Stripe event. Every change goes
through `PaymentLifecycle`, which only moves a payment up its rank, so events in any order or
repeated give the same payment, books and events.
"""

from __future__ import annotations

from marketplace.db import UnitOfWork
from marketplace.money import from_stripe_minor_units
from marketplace.payments.domain import PaymentMethod, RefundStatus, StripeUpdate
from marketplace.payments.lifecycle import PaymentLifecycle
from marketplace.payments.models import Payment
from marketplace.payments.repository import PaymentRepository


class StripeUpdates:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.payments = PaymentRepository(uow.session)
        self.lifecycle = PaymentLifecycle(uow)

    async def apply(self, update: StripeUpdate) -> str:
        """Apply one Stripe event. Returns an outcome for the inbox row."""
        payment = None
        if update.provider_payment_id:
            payment = await self.payments.get_by_provider_id(
                update.provider_payment_id, for_update=True
            )
        if payment is None and update.payment_id is not None:
            payment = await self.payments.get(update.payment_id, for_update=True)
        if payment is None and update.refund_id is not None:
            refund = await self.payments.get_refund(update.refund_id)
            if refund is not None:
                payment = await self.payments.get(refund.payment_id, for_update=True)
        if payment is None:
            return "unknown_payment"
        if payment.method != PaymentMethod.CARD:
            return "ignored"
        if payment.provider_payment_id is None and update.provider_payment_id:
            payment.provider_payment_id = update.provider_payment_id
        changed = False
        if update.status is not None:
            changed = await self.lifecycle.advance(
                payment,
                update.status,
                failure_code=update.failure_code,
                failure_message=update.failure_message,
            )
        if update.refund_failed:
            refund = await self.payments.refund_of_payment(payment.id, for_update=True)
            if refund is not None and refund.provider_refund_id in (
                None,
                update.provider_refund_id,
            ):
                changed = refund.status == RefundStatus.PENDING or changed
                await self.lifecycle.fail_refund(refund, "The provider reported the refund failed.")
        if update.refunded_minor is not None:
            try:
                refunded = from_stripe_minor_units(update.refunded_minor)
            except ValueError:
                return "invalid_amount"
            if refunded >= payment.amount:
                changed = await self._record_full_refund(payment, update) or changed
            elif refunded > payment.refunded_amount:
                payment.refunded_amount = refunded
                changed = True
        await self.payments.flush()
        return "applied" if changed else "no_change"

    async def _record_full_refund(self, payment: Payment, update: StripeUpdate) -> bool:
        refund = await self.lifecycle.grant_refund(
            payment, reason="provider", provider_refund_id=update.provider_refund_id
        )
        if refund.status != RefundStatus.PENDING:
            return False
        if refund.provider_refund_id is None and update.provider_refund_id:
            refund.provider_refund_id = update.provider_refund_id
        await self.lifecycle.complete_refund(payment, refund)
        return True
