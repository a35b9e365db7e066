"""Government sourcing pages: the procurement officer's RFQs, their quotes and the award;
the cooperative's RFQs to quote on (`quote.py` takes its quote).

Through `procurement.RfqService` and `AwardService`, as the API's `/v1/procurement/rfqs`:
an RFQ neither the office's own nor addressed to the cooperative's city is not found;
quotes stay sealed (only their count, after the deadline) until quotes close; the lowest
compliant quote is preselected and another choice needs a written reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory
from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound
from marketplace.listings import ProductService
from marketplace.procurement import (
    AwardCreate,
    AwardService,
    FulfilmentService,
    PublicationService,
    QuoteView,
    RfqService,
    RfqStatus,
)
from marketplace.web.controller import (
    PageRequest,
    SignedIn,
    field_of,
    not_found_page,
    signed_in,
)
from marketplace.web.i18n import gettext_ as _
from marketplace.web.once import run_once
from marketplace.web.pages import render
from marketplace.web.refusals import refusal_reason
from marketplace.web.sourcing.rfq_form import (
    ITEM_ROWS,
    TEXT_FIELDS,
    item_fields,
    read_rfq_form,
    rfq_refusal,
)

LISTED = 50
CATALOGUE = 200
MAX_REASON = 1000


def rfq_status_label(status: RfqStatus) -> str:
    return {
        RfqStatus.OPEN: _("Open for quotes"),
        RfqStatus.CLOSED: _("Quotes closed"),
        RfqStatus.AWARDED: _("Awarded"),
    }.get(status, _("No award"))


async def _form_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response[Any]:
    # The catalogue is larger than a list can hold: the officer narrows it by name.
    query = field_of(request.query_params, "q").strip()[:100] or None
    catalogue = ProductService(uow)
    products = await catalogue.browse(query=query, category=None, after=None, limit=CATALOGUE)
    picked = set()
    for name, value in (values or {}).items():
        if name.startswith("product-") and value:
            with contextlib.suppress(ValueError):
                picked.add(uuid.UUID(value))
    listed = {p.id for p in products}
    products += [p for pid, p in (await catalogue.get_many(picked)).items() if pid not in listed]
    zone = ZoneInfo(acting.membership.time_zone)
    soon = (clock.now().astimezone(zone) + dt.timedelta(days=3)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    defaults = dict.fromkeys((*TEXT_FIELDS, *item_fields()), "")
    defaults["deadline"] = soon.strftime("%Y-%m-%dT%H:%M")
    defaults["delivery_date"] = (soon.date() + dt.timedelta(days=7)).isoformat()
    return render(
        request,
        "sourcing/rfq_new.html",
        status=422 if errors else 200,
        query=query or "",
        membership=acting.membership,
        products=products,
        rows=range(1, ITEM_ROWS + 1),
        values={**defaults, **(values or {})},
        errors=errors or {},
    )


async def rfq_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    rfq_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response[Any]:
    """One RFQ: for its office the quotes side by side once closed; for a cooperative
    its own quote (or the form) and, if awarded to it, its purchase order."""
    rfqs = RfqService(uow)
    try:
        view = await rfqs.get(acting.principal, rfq_id)
    except NotFound:
        return not_found_page(request)
    owner = acting.principal.is_party(view.rfq.buyer_organization_id)
    quotes: list[QuoteView] = []
    if not owner or view.status is not RfqStatus.OPEN:
        quotes = await rfqs.quotes(acting.principal, rfq_id)
    order_id = view.purchase_order_id
    if not owner:
        orders = await FulfilmentService(uow).list_orders(
            acting.principal, status=None, after=None, limit=LISTED
        )
        order_id = next((o.po.id for o in orders if o.po.rfq_id == rfq_id), None)
    suppliers = await OrganizationDirectory(uow).get_many(
        sorted({q.quote.supplier_organization_id for q in quotes})
    )
    lowest = next((q.quote.id for q in quotes if q.ranked and q.ranked.compliant), None)
    zone = ZoneInfo(acting.membership.time_zone)
    defaults = {"choice": str(lowest) if lowest else "", "reason": ""}
    return render(
        request,
        "sourcing/rfq.html",
        status=422 if errors else 200,
        membership=acting.membership,
        view=view,
        rfq=view.rfq,
        items=view.rfq.items,
        owner=owner,
        open=view.status is RfqStatus.OPEN,
        quotes=quotes,
        suppliers=suppliers,
        lowest=lowest,
        order_id=order_id,
        deadline=view.rfq.deadline.astimezone(zone).strftime("%d-%m-%Y %H:%M"),
        status_label=rfq_status_label(view.status),
        values={**defaults, **(values or {})},
        errors=errors or {},
    )


class SourcingPagesController(Controller):
    path = "/"
    include_in_schema = False

    @get("/pengadaan")
    async def list_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        views = await RfqService(uow).list_rfqs(
            acting.principal, status=None, after=None, limit=LISTED
        )
        return render(
            request,
            "sourcing/rfqs.html",
            membership=acting.membership,
            views=views,
            government=acting.membership.organization_kind == "government",
            status_label=rfq_status_label,
        )

    @get("/pengadaan/baru")
    async def new_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        if acting.membership.organization_kind != "government":
            return not_found_page(request)
        return await _form_page(request, uow, acting)

    @post("/pengadaan", status_code=303)
    async def publish(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        if acting.membership.organization_kind != "government":
            return not_found_page(request)
        form = await request.form()
        values = {name: field_of(form, name).strip() for name in (*TEXT_FIELDS, *item_fields())}
        # Any product of the catalogue may be requested, not only those the form listed.
        chosen = set()
        for name in item_fields():
            if name.startswith("product-") and values[name]:
                with contextlib.suppress(ValueError):
                    chosen.add(uuid.UUID(values[name]))
        catalogue = await ProductService(uow).get_many(chosen)
        data, errors = read_rfq_form(values, acting.membership.time_zone, set(catalogue))
        if data is None:
            return await _form_page(request, uow, acting, values=values, errors=errors)

        async def publish() -> str:
            made = await RfqService(uow).publish(acting.principal, data)
            return f"/pengadaan/{made.rfq.id}"

        try:
            location = await run_once(
                uow,
                organization_id=acting.principal.organization_id,
                form=form,
                operation="procurement.publish_rfq",
                action=publish,
                if_changed="/pengadaan",
            )
        except DomainError as refusal:
            await uow.rollback()
            errors = rfq_refusal(refusal)
            return await _form_page(request, uow, acting, values=values, errors=errors)
        return Redirect(location, status_code=303)

    @get("/pengadaan/{rfq_id:uuid}")
    async def show(
        self, request: PageRequest, uow: UoW, rfq_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        return await rfq_page(request, uow, acting, rfq_id)

    @get("/pengadaan/{rfq_id:uuid}/ocds.json")
    async def ocds_release(
        self, request: PageRequest, uow: UoW, rfq_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """The request's OCDS release package, for whoever may see the request: the same
        publication the API's feed gives partner apps, without an API key."""
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        try:
            await RfqService(uow).get(acting.principal, rfq_id)
        except NotFound:
            return not_found_page(request)
        base = str(request.base_url).rstrip("/")
        package = await PublicationService(uow).release_package(
            acting.principal,
            since=None,
            limit=1,
            uri=f"{base}{request.url.path}",
            publisher_uri=base,
            rfq_id=rfq_id,
        )
        return Response(
            content=msgspec.json.encode(package),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="ocds-{rfq_id}.json"'},
        )

    @post("/pengadaan/{rfq_id:uuid}/pemenang", status_code=303)
    async def award(
        self, request: PageRequest, uow: UoW, rfq_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        awards = AwardService(uow)
        try:
            await awards.ensure_owner(acting.principal, rfq_id)
            ranked = await RfqService(uow).quotes(acting.principal, rfq_id)
        except NotFound:
            return not_found_page(request)
        except DomainError:  # sealed still: the page says so
            return await rfq_page(request, uow, acting, rfq_id)
        form = await request.form()
        values = {
            "choice": field_of(form, "choice").strip(),
            "reason": field_of(form, "reason").strip()[:MAX_REASON],
        }
        lowest = next((q.quote.id for q in ranked if q.ranked and q.ranked.compliant), None)
        ids = {str(q.quote.id): q.quote.id for q in ranked}
        if values["choice"] not in ids:
            errors = {"choice": _("Choose the quote to award.")}
            return await rfq_page(request, uow, acting, rfq_id, values=values, errors=errors)
        chosen = ids[values["choice"]]
        if chosen != lowest and not values["reason"]:
            errors = {"reason": _("Write why this quote is chosen over the lowest compliant one.")}
            return await rfq_page(request, uow, acting, rfq_id, values=values, errors=errors)
        data = (
            AwardCreate()
            if chosen == lowest
            else AwardCreate(quote_id=chosen, reason=values["reason"])
        )
        try:
            po = await awards.award(acting.principal, rfq_id, data)
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except DomainError as refusal:
            await uow.rollback()
            errors = {"choice": _award_refusal(refusal)}
            return await rfq_page(request, uow, acting, rfq_id, values=values, errors=errors)
        await uow.commit()
        return Redirect(f"/pengadaan/po/{po.id}", status_code=303)


def _award_refusal(refusal: DomainError) -> str:
    if refusal.code == "auth.forbidden":
        return _("Your role may not award. Ask your procurement officer.")
    if refusal.code == "procurement.quote_not_compliant":
        return _("This quote does not meet the request and can't be awarded.")
    if refusal.code == "procurement.no_compliant_quote":
        return _("No compliant quote was received: nothing can be awarded.")
    if refusal.code == "procurement.rfq_already_awarded":
        return _("This request is already awarded.")
    return _("The award could not be made: %(why)s") % {"why": refusal_reason(refusal)}


__all__ = ["SourcingPagesController", "rfq_page", "rfq_status_label"]
