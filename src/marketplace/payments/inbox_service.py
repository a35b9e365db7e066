"""The Stripe webhook inbox: receive (verify, store once, answer fast) and handle once.

Receiving stores the verified event under its Stripe id (UNIQUE), so a redelivered or
concurrently repeated event is stored once; the `payments.handle_stripe_event` job then
applies it under the inbox row's lock and marks it handled in the same transaction, so
its effects happen once however often the job runs. The `payments.sweep` cron re-enqueues
events whose job was lost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import structlog

from marketplace.db import UnitOfWork
from marketplace.ids import new_id
from marketplace.payments.domain import InvalidStripeEvent, interpret_stripe_event
from marketplace.payments.domain.gateway import PaymentGateway
from marketplace.payments.lifecycle import (
    CANCEL_CARD_JOB,
    SUBMIT_REFUND_JOB,
    cancel_card_job_id,
    submit_refund_job_id,
)
from marketplace.payments.repository import PaymentRepository, StripeEventRepository
from marketplace.payments.stripe_updates import StripeUpdates

log = structlog.get_logger(__name__)

HANDLE_STRIPE_EVENT_JOB = "payments.handle_stripe_event"
SWEEP_JOB = "payments.sweep"
# An event for a payment we don't know yet may have raced our own commit: retry it for
# this long before giving up on it.
UNKNOWN_PAYMENT_GRACE = dt.timedelta(hours=24)
STALE_AFTER = dt.timedelta(seconds=30)
SWEEP_BATCH = 500


class ReceivedEvent(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    type: str
    duplicate: bool


def handle_job_id(event_id: str) -> str:
    return f"{HANDLE_STRIPE_EVENT_JOB}:{event_id}"


def _parse(payload: bytes) -> dict[str, Any]:
    try:
        event = msgspec.json.decode(payload)
    except msgspec.DecodeError as exc:
        raise InvalidStripeEvent("The body is not JSON.") from exc
    if not isinstance(event, dict):
        raise InvalidStripeEvent("The body is not a Stripe event object.")
    event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
    data = event.get("data")
    if (
        not isinstance(event_id, str)
        or not 0 < len(event_id) <= 255
        or not isinstance(event_type, str)
        or not 0 < len(event_type) <= 100
        or not isinstance(created, int)
        or isinstance(created, bool)
        or not isinstance(data, dict)
        or not isinstance(data.get("object"), dict)
    ):
        raise InvalidStripeEvent("A Stripe event needs `id`, `type`, `created` and `data.object`.")
    return event


class StripeInbox:
    def __init__(self, uow: UnitOfWork, gateway: PaymentGateway | None = None) -> None:
        self.uow = uow
        self.gateway = gateway
        self.events = StripeEventRepository(uow.session)

    async def receive(self, payload: bytes) -> ReceivedEvent:
        """Store a verified event once and schedule its handling after commit."""
        event = _parse(payload)
        try:
            occurred_at = dt.datetime.fromtimestamp(event["created"], dt.UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise InvalidStripeEvent("`created` is not a Unix time stamp.") from exc
        stored = await self.events.insert_if_new(
            id=new_id(),
            event_id=event["id"],
            type=event["type"],
            occurred_at=occurred_at,
            payload=event,
        )
        if stored:
            self._schedule(event["id"])
        return ReceivedEvent(event_id=event["id"], type=event["type"], duplicate=not stored)

    def _schedule(self, event_id: str) -> None:
        jobs = self.uow.jobs
        if jobs is None:
            return

        async def enqueue() -> None:
            await jobs.enqueue(HANDLE_STRIPE_EVENT_JOB, event_id, job_id=handle_job_id(event_id))

        self.uow.after_commit(enqueue)

    async def handle(self, event_id: str, now: dt.datetime | None = None) -> str:
        """Apply one stored event once. Returns its outcome (or "duplicate")."""
        now = now or dt.datetime.now(dt.UTC)
        row = await self.events.lock(event_id)
        if row is None:
            return "missing"
        if row.handled_at is not None:
            return "duplicate"
        row.attempts += 1
        update = interpret_stripe_event(row.type, row.payload["data"]["object"])
        if update is None:
            outcome = "ignored"
        else:
            outcome = await StripeUpdates(self.uow).apply(update)
            if outcome == "unknown_payment" and now - row.received_at < UNKNOWN_PAYMENT_GRACE:
                # Perhaps our own transaction creating the payment hasn't committed yet.
                row.outcome = outcome
                await self.uow.session.flush()
                return "deferred"
        row.outcome = outcome
        row.handled_at = now
        await self.uow.session.flush()
        log.info("stripe_event_handled", event_id=event_id, type=row.type, outcome=outcome)
        return outcome

    async def sweep(self, now: dt.datetime | None = None) -> int:
        """Re-enqueue inbox events and card refunds whose jobs were lost."""
        now = now or dt.datetime.now(dt.UTC)
        jobs = self.uow.jobs
        event_ids = await self.events.unhandled(now - STALE_AFTER, SWEEP_BATCH)
        payments = PaymentRepository(self.uow.session)
        refund_ids = await payments.unsubmitted_refunds(now - STALE_AFTER, SWEEP_BATCH)
        cancel_ids = await payments.card_payments_to_cancel(now - STALE_AFTER, SWEEP_BATCH)
        if jobs is None:
            return 0
        for event_id in event_ids:
            await jobs.enqueue(HANDLE_STRIPE_EVENT_JOB, event_id, job_id=handle_job_id(event_id))
        for refund_id in refund_ids:
            await jobs.enqueue(
                SUBMIT_REFUND_JOB, str(refund_id), job_id=submit_refund_job_id(refund_id)
            )
        for payment_id in cancel_ids:
            await jobs.enqueue(
                CANCEL_CARD_JOB, str(payment_id), job_id=cancel_card_job_id(payment_id)
            )
        return len(event_ids) + len(refund_ids) + len(cancel_ids)
