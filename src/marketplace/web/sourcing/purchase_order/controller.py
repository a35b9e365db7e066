"""After the award: the purchase orders of an office or a cooperative, one purchase order
with its goods receipts (BAST), the invoice with its PPN and PPh 22 (and its PDF), the
treasury payment (SP2D), and the supplier declining an order it can't deliver.

Through `procurement.FulfilmentService`, as the API's `/v1/procurement/purchase-orders`:
another organization's purchase order is not found; the office records receipts and the
payment, either party may issue the invoice on what was received.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory
from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound
from marketplace.procurement import (
    AwardService,
    FulfilmentService,
    ReceiptCreate,
    TreasuryPaymentCreate,
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

MAX_QUANTITY = 10_000_000
LISTED = 30
MAX_REASON = 1000


def po_status_label(status: str) -> str:
    return {
        "issued": _("Issued, waiting for delivery"),
        "declined": _("Declined by the supplier"),
        "partially_received": _("Partly received"),
        "received": _("Received in full"),
        "invoiced": _("Invoiced, waiting for payment"),
        "paid": _("Paid by the treasury"),
    }.get(status, status)


async def _page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    po_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response[Any]:
    fulfilment = FulfilmentService(uow)
    try:
        view = await fulfilment.get(acting.principal, po_id)
    except NotFound:
        return not_found_page(request)
    invoice = await fulfilment.invoice_of(acting.principal, po_id) if view.invoice else None
    po = view.po
    names = await OrganizationDirectory(uow).get_many(
        sorted({po.buyer_organization_id, po.supplier_organization_id})
    )
    today = clock.today_in(acting.membership.time_zone).isoformat()
    defaults = {
        "received_on": today,
        "document_number": "",
        "paid_on": today,
        "sp2d": "",
        "reason": "",
    }
    defaults |= {f"received-{line['line_no']}": "" for line in po.lines}
    defaults["amount"] = str(invoice.invoice.net_payable) if invoice else ""
    buyer = acting.principal.organization_id == po.buyer_organization_id
    return render(
        request,
        "sourcing/purchase_order.html",
        status=422 if errors else 200,
        membership=acting.membership,
        po=po,
        receipts=view.receipts,
        invoice=invoice,
        names=names,
        buyer=buyer,
        declinable=not buyer and po.status == "issued",
        status_label=po_status_label(po.status),
        receiving=buyer and po.status in ("issued", "partially_received"),
        values={**defaults, **(values or {})},
        errors=errors or {},
    )


async def _form(request: PageRequest) -> dict[str, str]:
    form = await request.form()
    return {name: field_of(form, name).strip() for name in form}


class PurchaseOrderPagesController(Controller):
    path = "/"
    include_in_schema = False

    @get("/pengadaan/po")
    async def list_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        """The office's purchase orders, or those awarded to the cooperative, newest first."""
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        after = None
        with contextlib.suppress(ValueError):
            after = uuid.UUID(field_of(request.query_params, "sebelum"))
        views = await FulfilmentService(uow).list_orders(
            acting.principal, status=None, after=after, limit=LISTED + 1
        )
        more = len(views) > LISTED
        views = views[:LISTED]
        names = await OrganizationDirectory(uow).get_many(
            sorted(
                {v.po.buyer_organization_id for v in views}
                | {v.po.supplier_organization_id for v in views}
            )
        )
        return render(
            request,
            "sourcing/purchase_orders.html",
            membership=acting.membership,
            views=views,
            names=names,
            buyer=acting.membership.organization_kind == "government",
            status_label=po_status_label,
            older=str(views[-1].po.id) if more else None,
            first_page=after is None,
        )

    @get("/pengadaan/po/{po_id:uuid}")
    async def show(
        self, request: PageRequest, uow: UoW, po_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        return await _page(request, uow, acting, po_id)

    @post("/pengadaan/po/{po_id:uuid}/bast", status_code=303)
    async def receive(
        self, request: PageRequest, uow: UoW, po_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        fulfilment = FulfilmentService(uow)
        try:
            await fulfilment.ensure_buyer(acting.principal, po_id)
            view = await fulfilment.get(acting.principal, po_id)
        except NotFound:
            return not_found_page(request)
        values = await _form(request)
        errors: dict[str, str] = {}
        lines = []
        for line in view.po.lines:
            name = f"received-{line['line_no']}"
            raw = values.get(name, "")
            if not raw.isdigit() or int(raw) > MAX_QUANTITY:
                errors[name] = _("Write how many arrived: a whole number, 0 or more.")
            else:
                lines.append({"line_no": line["line_no"], "quantity": int(raw)})
        try:
            received_on = dt.date.fromisoformat(values.get("received_on", ""))
        except ValueError:
            errors["received_on"] = _("Write the receipt date as a date.")
        number = values.get("document_number", "")[:100] or None
        first = f"received-{view.po.lines[0]['line_no']}"
        if errors:
            return await _page(request, uow, acting, po_id, values=values, errors=errors)
        here = f"/pengadaan/po/{po_id}"
        try:
            data = msgspec.convert(
                {
                    "lines": lines,
                    "received_on": received_on.isoformat(),
                    "document_number": number,
                },
                ReceiptCreate,
            )

            async def record() -> str:
                await fulfilment.receive(acting.principal, po_id, data)
                return here

            location = await run_once(
                uow,
                organization_id=acting.principal.organization_id,
                form=values,
                operation="procurement.receive",
                action=record,
                if_changed=here,
            )
        except msgspec.ValidationError:
            errors["received_on"] = _("This receipt date can't be used: choose a nearer date.")
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except DomainError as refusal:
            await uow.rollback()
            errors[first] = _receipt_refusal(refusal)
        if errors:
            return await _page(request, uow, acting, po_id, values=values, errors=errors)
        return Redirect(location, status_code=303)

    @post("/pengadaan/po/{po_id:uuid}/tolak", status_code=303)
    async def decline(
        self, request: PageRequest, uow: UoW, po_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """The supplier can't deliver: the award moves to the next-lowest compliant quote
        (or the request fails when none is left), as the API's decline."""
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        values = await _form(request)
        reason = values.get("reason", "")[:MAX_REASON]
        if not reason:
            errors = {"reason": _("Write why you can't deliver this order.")}
            return await _page(request, uow, acting, po_id, values=values, errors=errors)
        try:
            await AwardService(uow).decline(acting.principal, po_id, reason)
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except DomainError as refusal:
            await uow.rollback()
            errors = {"reason": _decline_refusal(refusal)}
            return await _page(request, uow, acting, po_id, values=values, errors=errors)
        await uow.commit()
        return Redirect(f"/pengadaan/po/{po_id}", status_code=303)

    @post("/pengadaan/po/{po_id:uuid}/faktur", status_code=303)
    async def invoice(
        self, request: PageRequest, uow: UoW, po_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        try:
            await FulfilmentService(uow).invoice(acting.principal, po_id)
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except DomainError as refusal:
            await uow.rollback()
            errors = {"invoice": _invoice_refusal(refusal)}
            return await _page(request, uow, acting, po_id, errors=errors)
        await uow.commit()
        return Redirect(f"/pengadaan/po/{po_id}", status_code=303)

    @post("/pengadaan/po/{po_id:uuid}/bayar", status_code=303)
    async def pay(
        self, request: PageRequest, uow: UoW, po_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        fulfilment = FulfilmentService(uow)
        try:
            await fulfilment.ensure_buyer(acting.principal, po_id)
        except NotFound:
            return not_found_page(request)
        values = await _form(request)
        errors: dict[str, str] = {}
        sp2d = values.get("sp2d", "")[:100]
        if not sp2d:
            errors["sp2d"] = _("Write the SP2D number.")
        amount = values.get("amount", "").replace(".", "")
        if not amount.isdigit() or not 1 <= int(amount) <= 10**15:
            errors["amount"] = _("Write the amount paid in rupiah: a whole number.")
        try:
            paid_on = dt.date.fromisoformat(values.get("paid_on", ""))
        except ValueError:
            errors["paid_on"] = _("Write the payment date as a date.")
        if errors:
            return await _page(request, uow, acting, po_id, values=values, errors=errors)
        try:
            data = msgspec.convert(
                {"sp2d_number": sp2d, "amount": int(amount), "paid_on": paid_on.isoformat()},
                TreasuryPaymentCreate,
            )
            await fulfilment.pay(acting.principal, po_id, data)
        except msgspec.ValidationError:
            errors["sp2d"] = _("Write the SP2D number without spaces at either end.")
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except DomainError as refusal:
            await uow.rollback()
            errors[_payment_field(refusal)] = _payment_refusal(refusal)
        if errors:
            return await _page(request, uow, acting, po_id, values=values, errors=errors)
        await uow.commit()
        return Redirect(f"/pengadaan/po/{po_id}", status_code=303)


def _receipt_refusal(refusal: DomainError) -> str:
    if refusal.code == "auth.forbidden":
        return _("Your role may not record goods receipts.")
    if refusal.code == "procurement.receipt_exceeds_order":
        return _("More than ordered: the receipts can't add up to more than the order.")
    return _("The goods receipt could not be recorded: %(why)s") % {"why": refusal_reason(refusal)}


def _decline_refusal(refusal: DomainError) -> str:
    if refusal.code == "auth.forbidden":
        return _("Your role may not decline purchase orders.")
    if refusal.code == "state.invalid_transition":
        return _("This order can no longer be declined: delivery has begun or it is closed.")
    return _("The order could not be declined: %(why)s") % {"why": refusal_reason(refusal)}


def _invoice_refusal(refusal: DomainError) -> str:
    if refusal.code == "auth.forbidden":
        return _("Your role may not issue the invoice.")
    if refusal.code == "procurement.nothing_received":
        return _("Nothing was received yet: record the goods receipt first.")
    return _("The invoice could not be issued: %(why)s") % {"why": refusal_reason(refusal)}


def _payment_field(refusal: DomainError) -> str:
    if refusal.code == "procurement.payment_amount_mismatch":
        return "amount"
    return "sp2d"


def _payment_refusal(refusal: DomainError) -> str:
    if refusal.code == "auth.forbidden":
        return _("Your role may not record payments. Ask your finance officer.")
    if refusal.code == "procurement.payment_amount_mismatch":
        return _("The amount must be the invoice's net payable.")
    if refusal.code == "procurement.sp2d_reused":
        return _("This SP2D number was already recorded.")
    return _("The payment could not be recorded: %(why)s") % {"why": refusal_reason(refusal)}


__all__ = ["PurchaseOrderPagesController"]
