"""Standing orders: a kitchen's weekly template, turned into orders the day before (H-1).

Materialising is idempotent: the order carries the template id and delivery date, which
are unique together, so running the job twice for a date places one order.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
import structlog
from sqlalchemy.exc import IntegrityError

from marketplace import clock, outbox
from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import DomainError, NotFound
from marketplace.ids import new_id
from marketplace.orders.domain.events import StandingOrderFailed
from marketplace.orders.models import StandingOrder, StandingOrderRun
from marketplace.orders.placement import OrderPlacement
from marketplace.orders.repository import OrderRepository, StandingOrderRepository
from marketplace.orders.schemas import (
    DeliveryIn,
    OrderCreate,
    OrderLineIn,
    StandingLineIn,
    StandingOrderCreate,
    StandingOrderUpdate,
    Weekday,
)

log = structlog.get_logger(__name__)

# How many of a template's latest delivery dates its answer shows.
RECENT_RUNS = 7


class StandingOrderService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.standing = StandingOrderRepository(uow.session)
        self.orders = OrderRepository(uow.session)
        self.directory = OrganizationDirectory(uow)

    async def create(self, principal: Principal, data: StandingOrderCreate) -> StandingOrder:
        principal.require_role(Role.BUYER)
        principal.require_kind(OrganizationKind.KITCHEN)
        standing = StandingOrder(
            id=new_id(),
            buyer_organization_id=principal.organization_id,
            name=data.name,
            weekdays=_weekdays(data.weekdays),
            delivery_region_code=data.delivery.region_code,
            delivery_address=data.delivery.address,
            active=data.active,
            created_by_api_key_id=principal.api_key_id,
            created_by_person_id=principal.person_id,
        )
        self.standing.add(standing)
        await self.uow.session.flush()
        await self.uow.session.refresh(standing)
        return standing

    async def of_buyer(self, principal: Principal) -> list[StandingOrder]:
        return await self.standing.of_buyer(principal.organization_id)

    async def get(self, principal: Principal, standing_id: uuid.UUID) -> StandingOrder:
        standing = await self.standing.get(standing_id)
        if (
            standing is None
            or standing.deleted_at is not None
            or not principal.is_party(standing.buyer_organization_id)
        ):
            raise NotFound("No such standing order.")
        return standing

    async def _own(self, principal: Principal, standing_id: uuid.UUID) -> StandingOrder:
        """A template the caller may change: its kitchen's buyer (others see a 404)."""
        standing = await self.get(principal, standing_id)
        principal.acting_for(standing.buyer_organization_id, "standing order")
        if not principal.is_platform:
            principal.require_role(Role.BUYER)
        return standing

    async def update(
        self, principal: Principal, standing_id: uuid.UUID, data: StandingOrderUpdate
    ) -> StandingOrder:
        """Change, pause or resume the template. Orders it has already placed stay as
        they are (the kitchen changes or cancels those as orders)."""
        standing = await self._own(principal, standing_id)
        if data.name is not msgspec.UNSET:
            standing.name = data.name
        if data.weekdays is not msgspec.UNSET:
            standing.weekdays = _weekdays(data.weekdays)
        if data.delivery is not msgspec.UNSET:
            standing.delivery_region_code = data.delivery.region_code
            standing.delivery_address = data.delivery.address
        if data.active is not msgspec.UNSET:
            standing.active = data.active
        await self.uow.session.flush()
        await self.uow.session.refresh(standing)
        return standing

    async def delete(self, principal: Principal, standing_id: uuid.UUID) -> None:
        """No more orders from it, and gone from the kitchen's list; the row stays for the
        orders that name it."""
        standing = await self._own(principal, standing_id)
        standing.active = False
        standing.deleted_at = clock.now()
        await self.uow.session.flush()

    async def recent_runs(
        self, templates: list[StandingOrder]
    ) -> dict[uuid.UUID, list[StandingOrderRun]]:
        return await self.standing.recent_runs([t.id for t in templates], RECENT_RUNS)

    async def due(self, now: dt.datetime) -> list[tuple[uuid.UUID, dt.date]]:
        """(template, delivery date) pairs due now: delivery tomorrow in the kitchen's zone."""
        templates = await self.standing.active()
        buyers = await self.directory.get_many(sorted({t.buyer_organization_id for t in templates}))
        due = []
        for template in templates:
            buyer = buyers[template.buyer_organization_id]
            tomorrow = buyer.local_date(now) + dt.timedelta(1)
            if str(tomorrow.isoweekday()) in template.weekdays:
                due.append((template.id, tomorrow))
        return due

    async def materialize(self, standing_id: uuid.UUID, delivery_date: dt.date) -> uuid.UUID | None:
        """Place the template's order for the date, once, and record the outcome on the
        template's runs. Returns the order id."""
        template = await self.standing.get(standing_id)
        if template is None or not template.active or template.deleted_at is not None:
            return None
        existing = await self.orders.order_for_standing(standing_id, delivery_date)
        if existing is not None:
            return existing.id
        lines = template.weekdays.get(str(delivery_date.isoweekday()))
        if not lines:
            return None
        buyer = await self.directory.get(template.buyer_organization_id)
        assert buyer is not None
        principal = Principal(
            # The job acts as whoever made the template: a key or a person.
            api_key_id=template.created_by_api_key_id,
            person_id=template.created_by_person_id,
            organization_id=buyer.id,
            organization_kind=buyer.kind,
            role=Role.BUYER,
        )
        data = OrderCreate(
            lines=[msgspec.convert(line, OrderLineIn) for line in lines],
            delivery=DeliveryIn(
                date=delivery_date,
                region_code=template.delivery_region_code,
                address=template.delivery_address,
            ),
            notes=f"Standing order: {template.name}",
        )
        try:
            placed = await OrderPlacement(self.uow).place(
                principal, data, standing_order_id=standing_id
            )
        except IntegrityError:
            # A concurrent run placed it first; the unique key kept it to one order.
            return None
        except DomainError as exc:
            log.warning(
                "standing_order_not_placed",
                standing_order_id=str(standing_id),
                delivery_date=delivery_date.isoformat(),
                code=exc.code,
                detail=exc.detail,
            )
            await self.standing.record_run(
                standing_id,
                delivery_date,
                order_id=None,
                problem_code=exc.code,
                problem_detail=exc.detail[:1000],
            )
            outbox.emit(
                self.uow,
                StandingOrderFailed(
                    standing_order_id=standing_id,
                    delivery_date=delivery_date,
                    code=exc.code,
                    detail=exc.detail,
                ),
                organization_id=template.buyer_organization_id,
            )
            return None
        await self.standing.record_run(standing_id, delivery_date, order_id=placed.order.id)
        return placed.order.id


def _weekdays(weekdays: Mapping[Weekday, list[StandingLineIn]]) -> dict[str, list[dict[str, Any]]]:
    return {day: msgspec.to_builtins(lines) for day, lines in sorted(weekdays.items())}
