"""The cooperative's quote on an RFQ of its city: unit prices per item and a delivery
promise, through `procurement.RfqService.submit_quote` (again before the deadline
replaces it), as the API's `POST /v1/procurement/rfqs/{id}/quotes`."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Controller, Response, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound
from marketplace.procurement import QuoteCreate, RfqService
from marketplace.web.controller import PageRequest, field_of, not_found_page, signed_in
from marketplace.web.i18n import gettext_ as _
from marketplace.web.refusals import refusal_reason
from marketplace.web.sourcing.controller import rfq_page

MAX_PRICE = 1_000_000_000_000


class QuotePagesController(Controller):
    path = "/"
    include_in_schema = False

    @post("/pengadaan/{rfq_id:uuid}/penawaran", status_code=303)
    async def submit(
        self, request: PageRequest, uow: UoW, rfq_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        rfqs = RfqService(uow)
        try:
            view = await rfqs.get(acting.principal, rfq_id)
        except NotFound:
            return not_found_page(request)
        form = await request.form()
        lines = [int(item["line_no"]) for item in view.rfq.items]
        values = {f"price-{n}": field_of(form, f"price-{n}").strip() for n in lines}
        values["promise"] = field_of(form, "promise").strip()
        errors: dict[str, str] = {}
        prices: list[dict[str, int]] = []
        for n in lines:
            raw = values[f"price-{n}"].replace(".", "")
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_PRICE:
                errors[f"price-{n}"] = _(
                    "Write the unit price in rupiah: a whole number, 1 or more."
                )
            else:
                prices.append({"line_no": n, "unit_price": int(raw)})
        try:
            promise = dt.date.fromisoformat(values["promise"])
        except ValueError:
            errors["promise"] = _("Write the promised delivery date as a date.")
        data: QuoteCreate | None = None
        if not errors:
            try:
                data = msgspec.convert(
                    {"lines": prices, "delivery_promise_date": promise.isoformat()}, QuoteCreate
                )
            except msgspec.ValidationError:
                errors["promise"] = _("This delivery date can't be used: choose a nearer date.")
        if data is None:
            return await rfq_page(request, uow, acting, rfq_id, values=values, errors=errors)
        try:
            await rfqs.submit_quote(acting.principal, rfq_id, data)
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except DomainError as refusal:
            await uow.rollback()
            errors = {"promise": _quote_refusal(refusal)}
            return await rfq_page(request, uow, acting, rfq_id, values=values, errors=errors)
        await uow.commit()
        return Redirect(f"/pengadaan/{rfq_id}", status_code=303)


def _quote_refusal(refusal: DomainError) -> str:
    if refusal.code == "auth.forbidden":
        return _("Your role may not quote. Ask your administrator.")
    if refusal.code == "procurement.rfq_not_open":
        return _("This request no longer accepts quotes.")
    return _("The quote could not be sent: %(why)s") % {"why": refusal_reason(refusal)}


__all__ = ["QuotePagesController"]
