"""Use cases of the webhooks context. Callers own the transaction (see `marketplace.db`)."""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from typing import Any

import msgspec
import structlog

from marketplace.accounts import Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import DomainError, NotFound, PermissionDenied
from marketplace.events import PartnerEvent, payload_of
from marketplace.ids import new_id
from marketplace.jobs import resweep_job_id
from marketplace.outbox import Emitted
from marketplace.webhooks import sender
from marketplace.webhooks.domain import (
    DISABLE_AFTER_FAILED_DELIVERIES,
    EVENT_TYPES,
    AttemptResult,
    DeliveryState,
    DisabledReason,
    EndpointDisabled,
    EventType,
    decide,
    signing,
    storable_text,
)
from marketplace.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from marketplace.webhooks.repository import DeliveryRepository, EndpointRepository
from marketplace.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate
from marketplace.webhooks.sender import TargetGuard

log = structlog.get_logger(__name__)

DELIVER_JOB = "webhooks.deliver"
RETRY_DUE_JOB = "webhooks.retry_due"
DUE_BATCH = 500
# An attempt's duration as stored (INTEGER milliseconds); real ones end at the deadline.
MAX_DURATION_MS = 24 * 3600 * 1000


def deliver_job_id(delivery_id: uuid.UUID, attempt: int) -> str:
    """One job per (delivery, attempt): arq drops a duplicate while the first is queued."""
    return f"{DELIVER_JOB}:{delivery_id}:{attempt}"


class SentAttempt(msgspec.Struct, frozen=True, kw_only=True):
    """An attempt whose POST was made, with what came of it, before it is recorded."""

    delivery_id: uuid.UUID
    attempt: int
    started: dt.datetime
    result: AttemptResult


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _event_types(values: list[EventType]) -> list[str]:
    return sorted({v.value for v in values})


class WebhooksService:
    """Partners' endpoints and the delivery log (the HTTP side)."""

    def __init__(self, uow: UnitOfWork, guard: TargetGuard) -> None:
        self.uow = uow
        self.guard = guard
        self.endpoints = EndpointRepository(uow.session)
        self.deliveries = DeliveryRepository(uow.session)

    async def create_endpoint(
        self, principal: Principal, data: WebhookEndpointCreate
    ) -> WebhookEndpoint:
        principal.require_role(Role.ADMIN)
        if data.all_organizations and not principal.is_platform_admin:
            raise PermissionDenied(
                "Only the platform may receive every organization's events.",
                field="all_organizations",
            )
        vetted = await self.guard.vet(data.url)
        endpoint = WebhookEndpoint(
            id=new_id(),
            organization_id=principal.organization_id,
            url=vetted.target.url,
            description=data.description,
            event_types=_event_types(data.event_types),
            all_organizations=data.all_organizations,
            secret=signing.generate_secret(),
            enabled=True,
            consecutive_failures=0,
        )
        self.endpoints.add(endpoint)
        await self.endpoints.flush()  # server defaults come back through RETURNING
        return endpoint

    async def list_endpoints(
        self, principal: Principal, *, after: uuid.UUID | None, limit: int
    ) -> list[WebhookEndpoint]:
        principal.require_role(Role.VIEWER)
        return await self.endpoints.list_page(
            scope=principal.scope,
            after=after,
            limit=limit,
        )

    async def get_endpoint(self, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        endpoint = await self.endpoints.get(endpoint_id)
        if endpoint is None or not principal.can_see_organization(endpoint.organization_id):
            raise NotFound("No such webhook endpoint.")
        principal.require_role(Role.VIEWER)
        return endpoint

    async def _endpoint_for_change(
        self, principal: Principal, endpoint_id: uuid.UUID
    ) -> WebhookEndpoint:
        endpoint = await self.endpoints.get(endpoint_id)
        if endpoint is None or not principal.can_see_organization(endpoint.organization_id):
            raise NotFound("No such webhook endpoint.")
        principal.require_role(Role.ADMIN)
        principal.acting_for(endpoint.organization_id, "webhook endpoint")
        return endpoint

    async def update_endpoint(
        self, principal: Principal, endpoint_id: uuid.UUID, data: WebhookEndpointUpdate
    ) -> WebhookEndpoint:
        endpoint = await self._endpoint_for_change(principal, endpoint_id)
        if not isinstance(data.url, msgspec.UnsetType):
            endpoint.url = (await self.guard.vet(data.url)).target.url
        if not isinstance(data.event_types, msgspec.UnsetType):
            endpoint.event_types = _event_types(data.event_types)
        if not isinstance(data.description, msgspec.UnsetType):
            endpoint.description = data.description
        if not isinstance(data.enabled, msgspec.UnsetType) and data.enabled != endpoint.enabled:
            endpoint.enabled = data.enabled
            if data.enabled:
                endpoint.disabled_reason = None
                endpoint.disabled_at = None
                endpoint.consecutive_failures = 0
            else:
                endpoint.disabled_reason = DisabledReason.MANUAL
                endpoint.disabled_at = _now()
        await self.endpoints.flush()
        await self.uow.session.refresh(endpoint)
        return endpoint

    async def delete_endpoint(self, principal: Principal, endpoint_id: uuid.UUID) -> None:
        endpoint = await self._endpoint_for_change(principal, endpoint_id)
        await self.endpoints.delete(endpoint)
        await self.endpoints.flush()

    async def list_deliveries(
        self,
        principal: Principal,
        endpoint_id: uuid.UUID,
        *,
        state: DeliveryState | None,
        before: uuid.UUID | None,
        limit: int,
    ) -> tuple[list[WebhookDelivery], dict[uuid.UUID, list[WebhookDeliveryAttempt]]]:
        await self.get_endpoint(principal, endpoint_id)
        rows = await self.deliveries.list_for_endpoint(
            endpoint_id, state=state.value if state else None, before=before, limit=limit
        )
        return rows, await self.deliveries.attempts_for([d.id for d in rows])

    async def redeliver(
        self, principal: Principal, delivery_id: uuid.UUID
    ) -> tuple[WebhookDelivery, list[WebhookDeliveryAttempt]]:
        """Send again now, with a fresh set of retries (also after a success)."""
        delivery = await self.deliveries.get(delivery_id)
        endpoint = None if delivery is None else await self.endpoints.get(delivery.endpoint_id)
        if endpoint is None or not principal.can_see_organization(endpoint.organization_id):
            raise NotFound("No such webhook delivery.")
        principal.require_role(Role.ADMIN)
        principal.acting_for(endpoint.organization_id, "webhook delivery")
        if not endpoint.enabled:
            raise EndpointDisabled(
                "Re-enable the endpoint (PATCH enabled=true) before redelivering.",
                endpoint_id=endpoint.id,
                disabled_reason=endpoint.disabled_reason,
            )
        locked = await self.deliveries.lock(delivery_id)  # waits for an attempt in flight
        if locked is None:
            raise NotFound("No such webhook delivery.")
        locked.state = DeliveryState.PENDING
        locked.round_attempts = 0
        locked.next_attempt_at = _now()
        await self.deliveries.flush()
        DeliveryService(self.uow).schedule(locked.id, locked.attempt_count + 1)
        attempts = await self.deliveries.attempts_for([locked.id])
        return locked, attempts.get(locked.id, [])


class DeliveryService:
    """Fan-out from the outbox, attempts, and the due-retry sweep (the worker side)."""

    def __init__(self, uow: UnitOfWork, guard: TargetGuard | None = None) -> None:
        self.uow = uow
        self.guard = guard or TargetGuard(allow_private=False)
        self.endpoints = EndpointRepository(uow.session)
        self.deliveries = DeliveryRepository(uow.session)
        self.sent: SentAttempt | None = None  # set once `attempt` has made its POST

    def schedule(self, delivery_id: uuid.UUID, attempt: int, job_id: str | None = None) -> None:
        jobs = self.uow.jobs
        if jobs is None:  # no queue here: the retry_due cron picks the delivery up
            return

        async def enqueue() -> None:
            await jobs.enqueue(
                DELIVER_JOB,
                str(delivery_id),
                attempt,
                job_id=job_id or deliver_job_id(delivery_id, attempt),
            )

        self.uow.after_commit(enqueue)

    async def fan_out(self, emitted: Emitted[PartnerEvent]) -> list[uuid.UUID]:
        """One pending delivery per subscribed endpoint, in the event's own transaction;
        the event's payload (as stored) becomes the message's `data`."""
        event_type = emitted.event.event_type
        if event_type not in EVENT_TYPES:
            return []
        endpoints = await self.endpoints.subscribed(event_type, emitted.organization_id)
        now = _now()
        payload = payload_of(emitted.event)
        created = await self.deliveries.insert_new(
            [
                {
                    "id": new_id(),
                    "endpoint_id": endpoint.id,
                    "event_id": emitted.id,
                    "event_type": event_type,
                    "occurred_at": emitted.occurred_at,
                    "payload": payload,
                    "state": DeliveryState.PENDING.value,
                    "attempt_count": 0,
                    "round_attempts": 0,
                    "next_attempt_at": now,
                }
                for endpoint in endpoints
            ]
        )
        for delivery_id in created:
            self.schedule(delivery_id, 1)
        return created

    async def schedule_due(self, now: dt.datetime | None = None, limit: int = DUE_BATCH) -> int:
        """Enqueue the next attempt of every due delivery no worker is attempting.

        The table is the source of truth: this recovers jobs Redis lost and attempts cut
        short by a killed worker (its transaction rolled back, the row is still pending).
        """
        moment = now or _now()
        due = await self.deliveries.due(moment, limit)
        for delivery_id, attempts_done in due:
            attempt = attempts_done + 1
            self.schedule(
                delivery_id, attempt, resweep_job_id(deliver_job_id(delivery_id, attempt), _now())
            )
        return len(due)

    async def attempt(
        self, delivery_id: uuid.UUID, attempt: int, now: dt.datetime | None = None
    ) -> str:
        """Make attempt number `attempt` of the delivery, holding its row lock throughout.

        Returns what happened: `delivered`, `retry`, `failed`, `skipped` (not pending,
        another worker holds it, or that attempt was already made). Once the POST is made
        (`self.sent`), whatever the receiver answered is recorded; if recording it fails
        all the same, the entry point records the bare attempt in a new transaction
        (`record_unrecorded`), so no answer can keep a delivery looping unrecorded.
        """
        delivery = await self.deliveries.lock_pending(delivery_id)
        if delivery is None or delivery.attempt_count != attempt - 1:
            return "skipped"
        endpoint = await self.endpoints.get_for_attempt(delivery.endpoint_id)
        if endpoint is None:
            return "skipped"
        if not endpoint.enabled:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
            delivery.last_error = f"endpoint disabled ({endpoint.disabled_reason})"
            await self.deliveries.flush()
            return "failed"

        started = now or _now()
        clock = time.monotonic()
        try:
            result = await self._send(endpoint, delivery, started)
        except Exception as exc:  # a defect of ours: the attempt still counts and is logged
            log.exception("webhook_attempt_error", delivery_id=str(delivery.id), attempt=attempt)
            result = AttemptResult(
                status_code=None,
                error=f"internal error: {type(exc).__name__}",
                duration_ms=int((time.monotonic() - clock) * 1000),
            )
        self.sent = SentAttempt(
            delivery_id=delivery.id, attempt=attempt, started=started, result=result
        )
        return await self._record(endpoint, delivery, self.sent)

    async def record_unrecorded(self, sent: SentAttempt) -> str:
        """Record an attempt whose outcome could not be written with what the receiver
        said (its transaction failed): the status code and timing only, so the schedule
        moves on and the attempt counts toward giving up."""
        delivery = await self.deliveries.lock_pending(sent.delivery_id)
        if delivery is None or delivery.attempt_count != sent.attempt - 1:
            return "skipped"
        endpoint = await self.endpoints.get_for_attempt(delivery.endpoint_id)
        if endpoint is None:
            return "skipped"
        status = sent.result.status_code
        bare = AttemptResult(
            status_code=status,
            error=None
            if sent.result.succeeded
            else "the receiver's answer could not be recorded"
            + (f" (HTTP {status})" if status is not None else ""),
            duration_ms=sent.result.duration_ms,
        )
        return await self._record(endpoint, delivery, msgspec.structs.replace(sent, result=bare))

    async def _record(
        self, endpoint: WebhookEndpoint, delivery: WebhookDelivery, sent: SentAttempt
    ) -> str:
        """The attempt's log row and the delivery's next step, from what the POST gave."""
        result = sent.result
        error = storable_text(result.error)
        duration_ms = max(0, min(result.duration_ms, MAX_DURATION_MS))
        delivery.attempt_count = sent.attempt
        delivery.round_attempts += 1
        decision = decide(result, delivery.round_attempts, _now(), random.random())
        self.deliveries.add_attempt(
            WebhookDeliveryAttempt(
                id=new_id(),
                delivery_id=delivery.id,
                attempt=sent.attempt,
                attempted_at=sent.started,
                status_code=result.status_code,
                error=error,
                duration_ms=duration_ms,
                next_attempt_at=decision.next_attempt_at,
            )
        )
        delivery.state = decision.state
        delivery.next_attempt_at = decision.next_attempt_at
        delivery.last_status_code = result.status_code
        delivery.last_error = error
        if decision.state is DeliveryState.DELIVERED:
            delivery.delivered_at = _now()
            await self.endpoints.record_success(endpoint.id)
        if decision.disable_endpoint is not None:
            await self.endpoints.disable(endpoint.id, decision.disable_endpoint.value, _now())
        elif decision.exhausted:
            streak = await self.endpoints.record_failed_delivery(endpoint.id)
            if streak >= DISABLE_AFTER_FAILED_DELIVERIES:
                await self.endpoints.disable(endpoint.id, DisabledReason.FAILING.value, _now())
        await self.deliveries.flush()
        log.info(
            "webhook_attempt",
            delivery_id=str(delivery.id),
            endpoint_id=str(endpoint.id),
            attempt=sent.attempt,
            status_code=result.status_code,
            outcome=decision.state.value,
        )
        return "retry" if decision.state is DeliveryState.PENDING else decision.state.value

    async def _send(
        self, endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: dt.datetime
    ) -> AttemptResult:
        body = message_body(delivery)
        headers = signing.signature_headers(
            endpoint.secret, str(delivery.event_id), int(now.timestamp()), body
        )
        try:
            vetted = await self.guard.vet(endpoint.url)
        except DomainError as exc:  # unsafe, unresolvable or malformed (DNS changed)
            return AttemptResult(status_code=None, error=f"refused: {exc.detail}", duration_ms=0)
        about: dict[str, str | int] = {
            "webhook.delivery_id": str(delivery.id),
            "webhook.event_id": str(delivery.event_id),
            "webhook.event_type": delivery.event_type,
        }
        return await sender.post(vetted, headers, body, span_attributes=about)


def message_body(delivery: WebhookDelivery) -> bytes:
    """The Standard Webhooks payload: `{"type", "timestamp", "data"}`."""
    message: dict[str, Any] = {
        "type": delivery.event_type,
        "timestamp": delivery.occurred_at.astimezone(dt.UTC),
        "data": delivery.payload,
    }
    return msgspec.json.encode(message)
