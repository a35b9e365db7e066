"""arq jobs and the outbox handler of the payments context.

- `on_order_cancelled` (outbox handler of `order.cancelled`): refund what was paid, in
  the event's own transaction; card refunds are then submitted by a job.
- `payments.handle_stripe_event(event_id)`: apply one stored Stripe event once.
- `payments.submit_refund(refund_id)`: ask Stripe for a granted card refund.
- `payments.cancel_card(payment_id)`: cancel at Stripe a card payment still in flight
  when its order was cancelled.
- `payments.sweep` (cron): re-enqueue inbox events and refunds whose jobs were lost.
"""

from __future__ import annotations

import uuid
from typing import Any

from arq import Retry, cron
from arq.worker import func

from marketplace.db import UnitOfWork, unit_of_work
from marketplace.orders.domain.events import OrderCancelled
from marketplace.outbox import Emitted
from marketplace.payments.domain.gateway import GatewayUnavailable, PaymentGateway
from marketplace.payments.inbox_service import HANDLE_STRIPE_EVENT_JOB, SWEEP_JOB, StripeInbox
from marketplace.payments.lifecycle import CANCEL_CARD_JOB, SUBMIT_REFUND_JOB
from marketplace.payments.refund_service import RefundService
from marketplace.payments.stripe_gateway import gateway_for
from marketplace.settings import Settings, load_settings

__all__ = [
    "CRON_JOBS",
    "FUNCTIONS",
    "cancel_card",
    "handle_stripe_event",
    "on_order_cancelled",
    "submit_refund",
    "sweep",
]


async def on_order_cancelled(uow: UnitOfWork, emitted: Emitted[OrderCancelled]) -> None:
    await RefundService(uow).on_order_cancelled(emitted.event.order_id)


def _gateway(ctx: dict[str, Any]) -> PaymentGateway | None:
    settings = ctx.get("settings")
    if settings is None:
        settings = ctx["settings"] = load_settings()
    assert isinstance(settings, Settings)
    return gateway_for(settings)


async def handle_stripe_event(ctx: dict[str, Any], event_id: str) -> str:
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        outcome = await StripeInbox(uow, _gateway(ctx)).handle(event_id)
        await uow.commit()
    return outcome


async def submit_refund(ctx: dict[str, Any], refund_id: str) -> str:
    try:
        async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
            outcome = await RefundService(uow, _gateway(ctx)).submit_refund(uuid.UUID(refund_id))
            await uow.commit()
    except GatewayUnavailable as exc:
        # Safe to repeat: Stripe recognises the refund's idempotency key.
        raise Retry(defer=30 * int(ctx.get("job_try", 1))) from exc
    return outcome


async def cancel_card(ctx: dict[str, Any], payment_id: str) -> str:
    try:
        async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
            outcome = await RefundService(uow, _gateway(ctx)).cancel_card(uuid.UUID(payment_id))
            await uow.commit()
    except GatewayUnavailable as exc:
        raise Retry(defer=30 * int(ctx.get("job_try", 1))) from exc
    return outcome


async def sweep(ctx: dict[str, Any]) -> int:
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        return await StripeInbox(uow).sweep()


# keep_result=0: the job ids dedupe only while queued or running, so the sweep can
# re-enqueue an event or refund whose earlier job gave up.
FUNCTIONS = [
    func(handle_stripe_event, name=HANDLE_STRIPE_EVENT_JOB, max_tries=10, keep_result=0),
    func(submit_refund, name=SUBMIT_REFUND_JOB, max_tries=5, timeout=60, keep_result=0),
    func(cancel_card, name=CANCEL_CARD_JOB, max_tries=5, timeout=60, keep_result=0),
]
CRON_JOBS = [
    cron(sweep, name=SWEEP_JOB, second={5, 20, 35, 50}, run_at_startup=True),
]
