"""A buyer's day and orders: "Hari ini", the order list, one order, cancelling it.

"Hari ini" shows tomorrow's deliveries (tomorrow in the organization's local date), the
budget period's envelope for a kitchen (a food stall has none) and the standing orders
that will be placed for tomorrow. Orders are read and cancelled through `orders.
OrderService`, as the API does: another organization's order is not found.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory, OrganizationKind, PeopleService
from marketplace.dependencies import READ_ONLY, UoW
from marketplace.errors import DomainError, NotFound
from marketplace.listings import ProductService
from marketplace.orders import (
    BudgetFigures,
    BudgetService,
    OrderService,
    OrderView,
    StandingOrderService,
    can_cancel_order,
)
from marketplace.web import refusals
from marketplace.web.controller import PageRequest, SignedIn, not_found_page, signed_in
from marketplace.web.kitchen.share import whatsapp_link
from marketplace.web.names import leg_kind_label, status_label, weekday_label
from marketplace.web.pages import render

RECENT_ORDERS = 50


async def _current_budget(uow: UoW, acting: SignedIn, today: dt.date) -> BudgetFigures | None:
    periods = await BudgetService(uow).periods(
        acting.principal, acting.membership.organization_id, before=None, limit=5
    )
    for figures in periods:
        if figures.period.start_date <= today <= figures.period.end_date:
            return figures
    return None


async def order_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    view: OrderView,
    said: list[str],
    *,
    standing_error: str | None = None,
) -> Response[Any]:
    """One order; `standing_error`: why a standing order could not be made from it."""
    names = await ProductService(uow).get_many({line.product_id for line in view.lines})
    suppliers = await OrganizationDirectory(uow).get_many(
        sorted({leg.supplier_organization_id for leg in view.legs})
    )
    placer = view.order.placed_by_person_id
    placed_by = await PeopleService(uow).person(placer) if placer else None
    return render(
        request,
        "order.html",
        placed_by=placed_by,
        status=409 if said else 422 if standing_error else 200,
        membership=acting.membership,
        order=view.order,
        lines=view.lines,
        legs=view.legs,
        names=names,
        suppliers=suppliers,
        cancellable=can_cancel_order([leg.status for leg in view.legs]),
        status_label=status_label,
        kind_label=leg_kind_label,
        said=said,
        standing_error=standing_error,
        whatsapp=whatsapp_link(view, acting.membership.organization_name, names, suppliers),
        weekday=str(view.order.delivery_date.isoweekday()),
        weekdays=[str(day) for day in range(1, 8)],
        weekday_label=weekday_label,
    )


class KitchenController(Controller):
    path = "/"
    include_in_schema = False

    @get("/hari-ini")
    async def today_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        today = clock.today_in(acting.membership.time_zone)
        tomorrow = today + dt.timedelta(days=1)
        organization = await OrganizationDirectory(uow).get(acting.membership.organization_id)
        is_kitchen = organization is not None and organization.kind is OrganizationKind.KITCHEN
        deliveries = await OrderService(uow).orders_of(
            acting.principal, status=None, after=None, limit=RECENT_ORDERS, delivery_date=tomorrow
        )
        budget = await _current_budget(uow, acting, today) if is_kitchen else None
        weekday = str(tomorrow.isoweekday())
        standing = [
            (s, s.weekdays.get(weekday, []))
            for s in await StandingOrderService(uow).of_buyer(acting.principal)
            if s.active and s.deleted_at is None and s.weekdays.get(weekday)
        ]
        names = await ProductService(uow).get_many(
            uuid.UUID(line["product_id"]) for _, lines in standing for line in lines
        )
        return render(
            request,
            "today.html",
            person=acting.person,
            membership=acting.membership,
            today=today,
            tomorrow=tomorrow,
            deliveries=deliveries,
            is_kitchen=is_kitchen,
            budget=budget,
            standing=standing,
            names={str(k): v for k, v in names.items()},
            status_label=status_label,
        )

    @get("/pesanan", dependencies=READ_ONLY)
    async def orders_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        views = await OrderService(uow).orders_of(
            acting.principal, status=None, after=None, limit=RECENT_ORDERS
        )
        return render(
            request,
            "orders.html",
            membership=acting.membership,
            views=views,
            status_label=status_label,
        )

    @get("/pesanan/{order_id:uuid}", dependencies=READ_ONLY)
    async def order_page(
        self, request: PageRequest, uow: UoW, order_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        try:
            view = await OrderService(uow).view(acting.principal, order_id)
        except NotFound:
            return not_found_page(request)
        return await order_page(request, uow, acting, view, [])

    @post("/pesanan/{order_id:uuid}/batal", status_code=303)
    async def cancel(
        self, request: PageRequest, uow: UoW, order_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        orders = OrderService(uow)
        try:
            await orders.cancel(acting.principal, order_id)
        except NotFound:
            await uow.rollback()  # the row lock taken while looking, nothing else
            return not_found_page(request)
        except DomainError as refusal:
            await uow.rollback()
            said = refusals.sentences(refusal)[refusals.WHOLE_ORDER]
            return await order_page(
                request, uow, acting, await orders.view(acting.principal, order_id), said
            )
        await uow.commit()
        return Redirect(f"/pesanan/{order_id}", status_code=303)


__all__ = ["KitchenController", "order_page"]
