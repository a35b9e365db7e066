"""All queries of the webhooks context."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts import Scope
from marketplace.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint


class EndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        return await self.session.get(WebhookEndpoint, endpoint_id)

    async def get_for_attempt(self, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        """FOR KEY SHARE: a delete waits for the attempt in flight; edits and other
        attempts do not (they take no key lock), so nothing here can deadlock."""
        result = await self.session.execute(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .with_for_update(read=True, key_share=True)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def list_page(
        self, *, scope: Scope, after: uuid.UUID | None, limit: int
    ) -> list[WebhookEndpoint]:
        query: Any = select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit)
        query = scope.narrow(query, lambda org: WebhookEndpoint.organization_id == org)
        if after is not None:
            query = query.where(WebhookEndpoint.id > after)
        return list((await self.session.execute(query)).scalars())

    async def subscribed(
        self, event_type: str, organization_id: uuid.UUID | None
    ) -> list[WebhookEndpoint]:
        """Enabled endpoints that want this event: the organization's own, and those
        subscribed to every organization's events."""
        scope: ColumnElement[bool] = WebhookEndpoint.all_organizations.is_(True)
        if organization_id is not None:
            scope = or_(WebhookEndpoint.organization_id == organization_id, scope)
        result = await self.session.execute(
            select(WebhookEndpoint)
            .where(
                WebhookEndpoint.enabled.is_(True),
                WebhookEndpoint.event_types.contains([event_type]),
                scope,
            )
            .order_by(WebhookEndpoint.id)
        )
        return list(result.scalars())

    async def record_success(self, endpoint_id: uuid.UUID) -> None:
        """Reset the failure streak (written only when there is one, to spare the row)."""
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.consecutive_failures != 0)
            .values(consecutive_failures=0)
        )

    async def record_failed_delivery(self, endpoint_id: uuid.UUID) -> int:
        """Count one more delivery that exhausted its retries; returns the streak."""
        result = await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
            .returning(WebhookEndpoint.consecutive_failures)
        )
        return int(result.scalar_one_or_none() or 0)

    async def disable(self, endpoint_id: uuid.UUID, reason: str, now: dt.datetime) -> None:
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason, disabled_at=now)
        )

    def add(self, endpoint: WebhookEndpoint) -> None:
        self.session.add(endpoint)

    async def delete(self, endpoint: WebhookEndpoint) -> None:
        await self.session.delete(endpoint)

    async def flush(self) -> None:
        await self.session.flush()


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_new(self, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
        """Insert deliveries, skipping (endpoint, event) pairs that exist; returns new ids."""
        if not rows:
            return []
        result = await self.session.execute(
            insert(WebhookDelivery)
            .values(list(rows))
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            .returning(WebhookDelivery.id)
        )
        return list(result.scalars())

    async def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        return await self.session.get(WebhookDelivery, delivery_id)

    async def lock(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        """Wait for the row (an attempt in flight finishes first)."""
        result = await self.session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def lock_pending(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        """The pending delivery, locked; None if it is not pending or another worker has it."""
        result = await self.session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.state == "pending")
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def due(self, now: dt.datetime, limit: int) -> list[tuple[uuid.UUID, int]]:
        """Pending deliveries whose next attempt is due and that no worker is attempting."""
        result = await self.session.execute(
            select(WebhookDelivery.id, WebhookDelivery.attempt_count)
            .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(row[0], int(row[1])) for row in result]

    async def list_for_endpoint(
        self,
        endpoint_id: uuid.UUID,
        *,
        state: str | None,
        before: uuid.UUID | None,
        limit: int,
    ) -> list[WebhookDelivery]:
        """Newest first."""
        query: Any = (
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        if state is not None:
            query = query.where(WebhookDelivery.state == state)
        if before is not None:
            query = query.where(WebhookDelivery.id < before)
        return list((await self.session.execute(query)).scalars())

    async def attempts_for(
        self, delivery_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[WebhookDeliveryAttempt]]:
        if not delivery_ids:
            return {}
        result = await self.session.execute(
            select(WebhookDeliveryAttempt)
            .where(WebhookDeliveryAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookDeliveryAttempt.delivery_id, WebhookDeliveryAttempt.attempt)
        )
        grouped: dict[uuid.UUID, list[WebhookDeliveryAttempt]] = {}
        for attempt in result.scalars():
            grouped.setdefault(attempt.delivery_id, []).append(attempt)
        return grouped

    def add_attempt(self, attempt: WebhookDeliveryAttempt) -> None:
        self.session.add(attempt)

    async def flush(self) -> None:
        await self.session.flush()
