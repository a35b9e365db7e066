"""Standing orders (the H-1 fresh goods): made from an order, edited, paused, resumed,
deleted, each with its recent runs and why a date failed.

Everything goes through `orders.StandingOrderService`, as the API's `/v1/standing-orders`
does: another organization's template is not found, a viewer may change nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound
from marketplace.listings import ListingService, ProductService
from marketplace.orders import (
    OrderService,
    StandingOrderCreate,
    StandingOrderService,
    StandingOrderUpdate,
)
from marketplace.web.buyer_orders import buyers_order
from marketplace.web.controller import (
    PageRequest,
    SignedIn,
    field_of,
    not_found_page,
    signed_in,
)
from marketplace.web.i18n import gettext_ as _
from marketplace.web.kitchen.controller import order_page
from marketplace.web.names import weekday_label, weekday_short
from marketplace.web.once import run_once
from marketplace.web.pages import render
from marketplace.web.refusals import reason_of, refusal_reason

WEEKDAYS = ("1", "2", "3", "4", "5", "6", "7")
MAX_QUANTITY = 100_000


def run_reason(code: str | None, detail: str | None) -> str:
    """Why the H-1 job could not place a date's order, in the reader's words."""
    reasons = {
        "orders.budget_exceeded": _("The budget period had not enough left."),
        "orders.insufficient_supply": _("Not enough could be supplied."),
        "orders.no_budget_period": _("No budget period covers that date."),
        "orders.delivery_in_past": _("The delivery date had passed."),
        "orders.programme_restricted": _("A programme rule refused a line."),
    }
    return reasons.get(code or "", _("Not placed: %(why)s") % {"why": reason_of(code, detail)})


def _refused(refusal: DomainError) -> str:
    if refusal.code == "auth.forbidden":
        return _("Your role may not change standing orders. Ask your administrator.")
    return _("The standing order could not be saved: %(why)s") % {"why": refusal_reason(refusal)}


def products_of(weekdays: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The template's products in the order they first appear over the week."""
    return list(
        dict.fromkeys(line["product_id"] for day in WEEKDAYS for line in weekdays.get(day, []))
    )


def week_grid(weekdays: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, int]]:
    """product id → weekday → quantity (0 where that day has none of it)."""
    grid = {product_id: dict.fromkeys(WEEKDAYS, 0) for product_id in products_of(weekdays)}
    for day, lines in weekdays.items():
        for line in lines:
            grid[line["product_id"]][day] += line["quantity"]
    return grid


async def _names(uow: UoW, lines: Any) -> dict[str, Any]:
    ids = {uuid.UUID(line["product_id"]) for day in lines.values() for line in day}
    return {str(pid): product for pid, product in (await ProductService(uow).get_many(ids)).items()}


async def _edit_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    standing_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
) -> Response[Any]:
    service = StandingOrderService(uow)
    standing = await service.get(acting.principal, standing_id)
    runs = await service.recent_runs([standing])
    # A refused edit shows what was typed, not what is stored.
    form: Any = await request.form() if errors and request.method == "POST" else {}
    return render(
        request,
        "standing.html",
        status=422 if errors else 200,
        membership=acting.membership,
        standing=standing,
        runs=runs,
        names=await _names(uow, standing.weekdays),
        grid=week_grid(standing.weekdays),
        form=form,
        weekdays=WEEKDAYS,
        weekday_label=weekday_label,
        weekday_short=weekday_short,
        run_reason=run_reason,
        errors=errors or {},
    )


class StandingOrderController(Controller):
    path = "/"
    include_in_schema = False

    @get("/rutin")
    async def standing_list(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        service = StandingOrderService(uow)
        templates = [s for s in await service.of_buyer(acting.principal) if s.deleted_at is None]
        runs = await service.recent_runs(templates)
        return render(
            request,
            "standing_list.html",
            membership=acting.membership,
            templates=templates,
            runs=runs,
            weekday_label=weekday_label,
            run_reason=run_reason,
        )

    @post("/pesanan/{order_id:uuid}/rutin", status_code=303)
    async def from_order(
        self, request: PageRequest, uow: UoW, order_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        view = await buyers_order(uow, acting.principal, order_id)
        if view is None:
            return not_found_page(request)
        form = await request.form()
        name = field_of(form, "name").strip()[:200]
        days = [d for d in WEEKDAYS if field_of(form, f"day-{d}") == "1"]
        lines = [{"product_id": str(ln.product_id), "quantity": ln.quantity} for ln in view.lines]
        error = None
        if not name:
            error = _("Give the standing order a name.")
        elif not days:
            error = _("Choose at least one delivery day.")
        else:
            data = msgspec.convert(
                {
                    "name": name,
                    "weekdays": dict.fromkeys(days, lines),
                    "delivery": {
                        "region_code": view.order.delivery_region_code,
                        "address": view.order.delivery_address,
                    },
                },
                StandingOrderCreate,
            )

            async def create() -> str:
                made = await StandingOrderService(uow).create(acting.principal, data)
                return f"/rutin/{made.id}"

            try:
                location = await run_once(
                    uow,
                    organization_id=acting.principal.organization_id,
                    form=form,
                    operation="orders.standing_from_order",
                    action=create,
                    if_changed="/rutin",
                )
            except DomainError as refusal:
                await uow.rollback()
                error = _refused(refusal)
        if error is not None:
            view = await OrderService(uow).view(acting.principal, order_id)  # after a rollback
            return await order_page(request, uow, acting, view, [], standing_error=error)
        return Redirect(location, status_code=303)

    @get("/rutin/{standing_id:uuid}")
    async def standing_page(
        self, request: PageRequest, uow: UoW, standing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        try:
            return await _edit_page(request, uow, acting, standing_id)
        except NotFound:
            return not_found_page(request)

    @post("/rutin/{standing_id:uuid}", status_code=303)
    async def edit(
        self, request: PageRequest, uow: UoW, standing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        service = StandingOrderService(uow)
        try:
            standing = await service.get(acting.principal, standing_id)
        except NotFound:
            return not_found_page(request)
        form = await request.form()
        errors: dict[str, str] = {}
        name = field_of(form, "name").strip()[:200]
        if not name:
            errors["name"] = _("Give the standing order a name.")
        # The week as a grid: every product of the template on every day, blank or 0 = none.
        weekdays: dict[str, list[dict[str, Any]]] = {}
        for product_id in products_of(standing.weekdays):
            for day in WEEKDAYS:
                field = f"q-{day}-{product_id}"
                raw = field_of(form, field).strip() or "0"
                quantity = int(raw) if raw.isdigit() else -1
                if not 0 <= quantity <= MAX_QUANTITY:
                    errors[field] = _("Write a whole number, 0 (none that day) or more.")
                elif quantity:
                    line = {"product_id": product_id, "quantity": quantity}
                    weekdays.setdefault(day, []).append(line)
        if not errors and not weekdays:
            errors["name"] = _("Keep at least one line: delete the standing order instead.")
        if not errors:
            data = msgspec.convert({"name": name, "weekdays": weekdays}, StandingOrderUpdate)
            try:
                await service.update(acting.principal, standing_id, data)
            except DomainError as refusal:
                await uow.rollback()
                errors["name"] = _refused(refusal)
        if errors:
            return await _edit_page(request, uow, acting, standing_id, errors=errors)
        await uow.commit()
        return Redirect(f"/rutin/{standing_id}", status_code=303)

    @post("/rutin/{standing_id:uuid}/tambah", status_code=303)
    async def add_product(
        self, request: PageRequest, uow: UoW, standing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """A product found in Belanja joins the template on each of its delivery days."""
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        service = StandingOrderService(uow)
        form = await request.form()
        raw = field_of(form, "quantity").strip()
        quantity = int(raw) if raw.isdigit() else 0
        try:
            standing = await service.get(acting.principal, standing_id)
            _listing, product = await ListingService(uow).get(
                acting.principal, uuid.UUID(field_of(form, "listing_id"))
            )
        except (ValueError, NotFound):
            return not_found_page(request)
        if not 0 < quantity <= MAX_QUANTITY:
            return Redirect(f"/belanja?rutin={standing_id}", status_code=303)
        weekdays = {
            day: [line for line in lines if line["product_id"] != str(product.id)]
            + [{"product_id": str(product.id), "quantity": quantity}]
            for day, lines in standing.weekdays.items()
        }
        data = msgspec.convert({"weekdays": weekdays}, StandingOrderUpdate)
        try:
            await service.update(acting.principal, standing_id, data)
        except DomainError as refusal:
            await uow.rollback()
            return await _edit_page(
                request, uow, acting, standing_id, errors={"form": _refused(refusal)}
            )
        await uow.commit()
        return Redirect(f"/rutin/{standing_id}", status_code=303)

    @post("/rutin/{standing_id:uuid}/aktif", status_code=303)
    async def pause_or_resume(
        self, request: PageRequest, uow: UoW, standing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        data = StandingOrderUpdate(active=field_of(form, "active") == "1")
        return await _change(request, uow, acting, standing_id, data)

    @post("/rutin/{standing_id:uuid}/hapus", status_code=303)
    async def delete(
        self, request: PageRequest, uow: UoW, standing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        return await _change(request, uow, acting, standing_id, None)


async def _change(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    standing_id: uuid.UUID,
    data: StandingOrderUpdate | None,
) -> Response[Any]:
    """Pause/resume (`data`) or delete (None); a refusal shows the page with its reason."""
    service = StandingOrderService(uow)
    try:
        if data is None:
            await service.delete(acting.principal, standing_id)
        else:
            await service.update(acting.principal, standing_id, data)
    except NotFound:
        await uow.rollback()
        return not_found_page(request)
    except DomainError as refusal:
        await uow.rollback()
        return await _edit_page(
            request, uow, acting, standing_id, errors={"form": _refused(refusal)}
        )
    await uow.commit()
    return Redirect("/rutin" if data is None else f"/rutin/{standing_id}", status_code=303)


__all__ = ["StandingOrderController"]
