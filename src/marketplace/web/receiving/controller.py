"""Receiving: the goods receipt (BAST) of each shipped leg, and its printable page.

The kitchen confirms what arrived, leg by leg; a short delivery is normal and is credited
(`orders.OrderService.deliver`, as the API's `POST /v1/legs/{id}/deliver`). The BAST page
is plain HTML made for printing (`@media print`); its dates are the organization's.
"""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory
from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound
from marketplace.listings import ProductService
from marketplace.orders import OrderService, OrderView
from marketplace.web.buyer_orders import buyers_order
from marketplace.web.controller import (
    PageRequest,
    SignedIn,
    field_of,
    not_found_page,
    signed_in,
)
from marketplace.web.i18n import gettext_ as _
from marketplace.web.names import leg_kind_label, status_label
from marketplace.web.pages import render

MAX_NOTE = 500


async def _page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    view: OrderView,
    template: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response[Any]:
    names = await ProductService(uow).get_many(ln.product_id for ln in view.lines)
    suppliers = await OrganizationDirectory(uow).get_many(
        sorted({leg.supplier_organization_id for leg in view.legs})
    )
    zone = ZoneInfo(acting.membership.time_zone)
    received_on = {
        leg.id: leg.delivered_at.astimezone(zone).date()
        for leg in view.legs
        if leg.delivered_at is not None
    }
    return render(
        request,
        template,
        status=422 if errors else 200,
        membership=acting.membership,
        person=acting.person,
        order=view.order,
        legs=view.legs,
        names=names,
        suppliers=suppliers,
        received_on=received_on,
        today=clock.today_in(acting.membership.time_zone),
        status_label=status_label,
        kind_label=leg_kind_label,
        errors=errors or {},
        values=values or {},
    )


class ReceivingController(Controller):
    path = "/"
    include_in_schema = False

    @get("/pesanan/{order_id:uuid}/terima")
    async def receive_page(
        self, request: PageRequest, uow: UoW, order_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        view = await buyers_order(uow, acting.principal, order_id)
        if view is None:
            return not_found_page(request)
        return await _page(request, uow, acting, view, "receive.html")

    @post("/pesanan/{order_id:uuid}/terima/{leg_id:uuid}", status_code=303)
    async def receive(
        self,
        request: PageRequest,
        uow: UoW,
        order_id: FromPath[uuid.UUID],
        leg_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        orders = OrderService(uow)
        try:
            view = await orders.view(acting.principal, order_id)
        except NotFound:
            return not_found_page(request)
        if not acting.principal.is_party(view.order.buyer_organization_id) or leg_id not in {
            leg.id for leg in view.legs
        }:
            return not_found_page(request)
        form = await request.form()
        raw = field_of(form, f"received-{leg_id}").strip()
        note = field_of(form, f"note-{leg_id}").strip()[:MAX_NOTE]
        field = f"received-{leg_id}"
        values = {field: raw, f"note-{leg_id}": note}
        try:
            received = int(raw)
        except ValueError:
            received = -1
        if received < 0:
            errors = {field: _("Write how many arrived: a whole number, 0 or more.")}
            return await _page(
                request, uow, acting, view, "receive.html", errors=errors, values=values
            )
        try:
            await orders.deliver(acting.principal, leg_id, received, note or None)
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except DomainError as refusal:
            await uow.rollback()
            view = await orders.view(acting.principal, order_id)
            errors = {field: _receipt_refusal(refusal)}
            return await _page(
                request, uow, acting, view, "receive.html", errors=errors, values=values
            )
        await uow.commit()
        return Redirect(f"/pesanan/{order_id}/terima", status_code=303)

    @get("/pesanan/{order_id:uuid}/bast")
    async def receipt_page(
        self, request: PageRequest, uow: UoW, order_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        view = await buyers_order(uow, acting.principal, order_id)
        if view is None:
            return not_found_page(request)
        return await _page(request, uow, acting, view, "bast.html")


def _receipt_refusal(refusal: DomainError) -> str:
    if refusal.code == "orders.received_more_than_shipped":
        return _("Only %(shipped)d were shipped: the received quantity can't be more.") % {
            "shipped": refusal.extra["shipped"]
        }
    if refusal.code == "auth.forbidden":
        return _("Your role may not confirm receipts. Ask your administrator.")
    return _("This delivery can't be confirmed now (already confirmed or not shipped yet).")


__all__ = ["ReceivingController"]
