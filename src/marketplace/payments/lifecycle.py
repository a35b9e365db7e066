"""The one way a payment's status changes, and a refund's (payments; never commits).

Every status change goes through `PaymentLifecycle.advance`, which only ever moves a payment
up `domain.STATUS_RANK` and posts the ledger transactions and outbox events of the step, so
the same facts in any order give the same payment, books and events. A refund is granted
once per payment (`grant_refund`, its row and the ledger's `refund`), then completed or
failed. Every use case of the context (`service.py`, `refund_service.py`,
`stripe_updates.py`) changes payments through it.
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog

from marketplace import outbox
from marketplace.db import UnitOfWork
from marketplace.ids import new_id
from marketplace.ledger import LedgerService, postings
from marketplace.payments.domain import (
    PaymentMethod,
    PaymentStatus,
    RefundChannel,
    RefundStatus,
    advances,
    crossed_success,
    refund_channel,
)
from marketplace.payments.domain.events import PAYMENT_EVENTS
from marketplace.payments.models import Payment, Refund
from marketplace.payments.repository import PaymentRepository

log = structlog.get_logger(__name__)

SUBMIT_REFUND_JOB = "payments.submit_refund"
CANCEL_CARD_JOB = "payments.cancel_card"


def submit_refund_job_id(refund_id: uuid.UUID) -> str:
    return f"{SUBMIT_REFUND_JOB}:{refund_id}"


def cancel_card_job_id(payment_id: uuid.UUID) -> str:
    return f"{CANCEL_CARD_JOB}:{payment_id}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PaymentLifecycle:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.payments = PaymentRepository(uow.session)
        self.ledger = LedgerService(uow)

    # --- the one way a payment's status changes ---------------------------------------

    async def advance(
        self,
        payment: Payment,
        new: PaymentStatus,
        *,
        failure_code: str | None = None,
        failure_message: str | None = None,
    ) -> bool:
        before = PaymentStatus(payment.status)
        if not advances(before, new):
            return False
        payment.status = new
        if new is PaymentStatus.FAILED:
            payment.failure_code = (failure_code or "failed")[:100]
            payment.failure_message = (failure_message or "The payment failed.")[:500]
            self._emit(payment, PaymentStatus.FAILED)
        if crossed_success(before, new):
            payment.succeeded_at = _now()
            await self.ledger.post(
                postings.payment_received(
                    payment.id, payment.buyer_organization_id, payment.amount, payment.fee
                )
            )
            self._emit(payment, PaymentStatus.SUCCEEDED)
            if new is PaymentStatus.SUCCEEDED and payment.order_cancelled_at is not None:
                await self.grant_refund(payment, reason="order_cancelled")
        if new is PaymentStatus.REFUNDED:
            payment.refunded_amount = payment.amount
            self._emit(payment, PaymentStatus.REFUNDED)
        await self.payments.flush()
        return True

    def _emit(self, payment: Payment, status: PaymentStatus) -> None:
        event = PAYMENT_EVENTS[status](
            payment_id=payment.id,
            order_id=payment.order_id,
            method=payment.method,
            status=status,
            amount=payment.amount,
        )
        parties = {payment.buyer_organization_id, *payment.payee_organization_ids}
        for organization_id in sorted(parties):
            outbox.emit(self.uow, event, organization_id=organization_id)

    # --- refunds ----------------------------------------------------------------------

    async def grant_refund(
        self, payment: Payment, *, reason: str, provider_refund_id: str | None = None
    ) -> Refund:
        """The refund of `payment` in full, once: its row and the ledger's `refund`."""
        existing = await self.payments.refund_of_payment(payment.id, for_update=True)
        if existing is not None:
            return existing
        channel = refund_channel(PaymentMethod(payment.method))
        refund = Refund(
            id=new_id(),
            payment_id=payment.id,
            buyer_organization_id=payment.buyer_organization_id,
            channel=channel,
            status=RefundStatus.PENDING,
            amount=payment.amount,
            reason=reason,
            provider_refund_id=provider_refund_id,
            created_at=_now(),
            updated_at=_now(),
        )
        self.payments.add(refund)
        await self.payments.flush()
        await self.ledger.post(
            postings.refund(refund.id, payment.buyer_organization_id, refund.amount)
        )
        if channel is RefundChannel.STRIPE and provider_refund_id is None:
            self.schedule(SUBMIT_REFUND_JOB, refund.id, submit_refund_job_id(refund.id))
        return refund

    async def complete_refund(self, payment: Payment, refund: Refund) -> None:
        refund.status = RefundStatus.SUCCEEDED
        refund.completed_at = _now()
        await self.ledger.post(
            postings.refund_paid(refund.id, payment.buyer_organization_id, refund.amount)
        )
        payment.refunded_amount = max(payment.refunded_amount, refund.amount)
        await self.advance(payment, PaymentStatus.REFUNDED)

    async def fail_refund(self, refund: Refund, message: str) -> None:
        if refund.status != RefundStatus.PENDING:
            return
        refund.status = RefundStatus.FAILED
        refund.failure_message = message[:500]
        granted = postings.refund(refund.id, refund.buyer_organization_id, refund.amount)
        await self.ledger.post(postings.reversal(granted, "Refund failed at the provider"))
        log.warning("refund_failed", refund_id=str(refund.id), message=message)

    def schedule(self, job: str, object_id: uuid.UUID, job_id: str) -> None:
        jobs = self.uow.jobs
        if jobs is None:  # no queue here: the payments sweep enqueues it
            return

        async def enqueue() -> None:
            await jobs.enqueue(job, str(object_id), job_id=job_id)

        self.uow.after_commit(enqueue)
