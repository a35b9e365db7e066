"""Standing orders: a kitchen's weekly template, turned into orders the day before (H-1).

Materialising is idempotent: the order carries the template id and delivery date, which
are unique together, so running the job twice for a date places one order.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
import structlog
from sqlalchemy.exc import IntegrityError

from marketplace import outbox
from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import DomainError, NotFound
from marketplace.ids import new_id
from marketplace.orders.domain.events import StandingOrderFailed
from marketplace.orders.models import StandingOrder
from marketplace.orders.placement import OrderPlacement
from marketplace.orders.repository import OrderRepository, StandingOrderRepository
from marketplace.orders.schemas import DeliveryIn, OrderCreate, OrderLineIn, StandingOrderCreate

log = structlog.get_logger(__name__)


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
            weekdays={day: msgspec.to_builtins(lines) for day, lines in data.weekdays.items()},
            delivery_region_code=data.delivery.region_code,
            delivery_address=data.delivery.address,
            active=True,
            created_by_api_key_id=principal.api_key_id,
        )
        self.standing.add(standing)
        await self.uow.session.flush()
        await self.uow.session.refresh(standing)
        return standing

    async def of_buyer(self, principal: Principal) -> list[StandingOrder]:
        return await self.standing.of_buyer(principal.organization_id)

    async def get(self, principal: Principal, standing_id: uuid.UUID) -> StandingOrder:
        standing = await self.standing.get(standing_id)
        if standing is None or not principal.can_see_organization(standing.buyer_organization_id):
            raise NotFound("No such standing order.")
        return standing

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
        """Place the template's order for the date, once. Returns the order id."""
        template = await self.standing.get(standing_id)
        if template is None or not template.active:
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
            api_key_id=template.created_by_api_key_id or uuid.UUID(int=0),
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
        return placed.order.id
