"""arq jobs and the outbox handler of the webhooks context.

- `fan_out_event` (outbox handler of every partner event, see `register_fan_out`): one
  pending delivery per subscribed endpoint, in the event's own transaction, so each event
  fans out exactly once.
- `webhooks.deliver(delivery_id, attempt)`: one signed POST under the delivery's row lock.
- `webhooks.retry_due` (cron): enqueue the next attempt of every due delivery. The table is
  the source of truth; arq may lose jobs and workers may die mid-delivery.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog

from marketplace.db import UnitOfWork, unit_of_work
from marketplace.events import PartnerEvent
from marketplace.outbox import Emitted, EventHandlers
from marketplace.settings import Settings, load_settings
from marketplace.webhooks.domain.events import PARTNER_EVENTS
from marketplace.webhooks.sender import TargetGuard
from marketplace.webhooks.service import DELIVER_JOB, RETRY_DUE_JOB, DeliveryService

log = structlog.get_logger(__name__)

__all__ = [
    "DELIVER_JOB",
    "RETRY_DUE_JOB",
    "deliver",
    "fan_out_event",
    "register_fan_out",
    "retry_due",
]


async def fan_out_event(uow: UnitOfWork, emitted: Emitted[PartnerEvent]) -> None:
    await DeliveryService(uow).fan_out(emitted)


def register_fan_out(handlers: EventHandlers) -> None:
    """Fan every partner event out to the endpoints subscribed to it."""
    handlers.register_each(PARTNER_EVENTS, fan_out_event)


def _settings(ctx: dict[str, Any]) -> Settings:
    settings = ctx.get("settings")
    if settings is None:
        settings = ctx["settings"] = load_settings()
    assert isinstance(settings, Settings)
    return settings


async def deliver(ctx: dict[str, Any], delivery_id: str, attempt: int) -> str:
    """One attempt. If its outcome cannot be committed once the POST is made (a value the
    database refuses, a defect in handling an answer), the attempt is recorded bare in a
    new transaction: otherwise the delivery would stay due with the same attempt number
    and be POSTed again on every sweep, forever."""
    guard = TargetGuard(allow_private=_settings(ctx).webhook_allow_private_targets)
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        service = DeliveryService(uow, guard)
        try:
            outcome = await service.attempt(uuid.UUID(delivery_id), attempt)
            await uow.commit()
            return outcome
        except Exception:
            if service.sent is None:
                raise  # nothing was sent: arq retries the job, the sweep finds the delivery
            log.exception("webhook_attempt_not_recorded", delivery_id=delivery_id, attempt=attempt)
            sent = service.sent
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        outcome = await DeliveryService(uow, guard).record_unrecorded(sent)
        await uow.commit()
    return outcome


async def retry_due(ctx: dict[str, Any], *, now: dt.datetime | None = None) -> int:
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        count = await DeliveryService(uow).schedule_due(now)
        await uow.commit()  # releases the row locks, then enqueues
    return count
