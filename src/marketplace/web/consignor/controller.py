"""The UMKM owner's pages: "Barang saya", "Kapan saya dibayar", proposing an intake.

"Barang saya" is `ConsignmentPosition.holdings` per cooperative holding the goods; "Kapan
saya dibayar" is `ConsignmentPosition.outlook` (the next settlement date and what it pays
so far), the statements and the payouts (`SettlementService`). An intake is proposed with
`ConsignmentService.create_intake`, as the API's `POST /v1/consignment/intakes`: a price
above the zone cap is refused at once, next to the price. A statement's page serves both
of its parties (the UMKM and the cooperative); anyone else finds nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory
from marketplace.consignment import (
    AgreementStatus,
    ConsignmentPosition,
    ConsignmentService,
    IntakeCreate,
    SettlementService,
)
from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound
from marketplace.listings import ProductService
from marketplace.web.clerk.forms import MAX_PRICE, percent_of, refusal_text, whole_number
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

LIMIT = 100
PRODUCTS_SHOWN = 200


def intake_state(status: str) -> str:
    labels = {
        "proposed": _("Waiting for the cooperative"),
        "confirmed": _("Received"),
        "rejected": _("Refused"),
    }
    return labels.get(str(status), str(status))


def payout_state(status: str) -> str:
    labels = {"pending": _("Not paid yet"), "paid": _("Paid")}
    return labels.get(str(status), str(status))


class ConsignorController(Controller):
    path = "/"
    include_in_schema = False

    @get("/barang-saya")
    async def goods(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        holdings = [
            h
            for h in await ConsignmentPosition(uow).holdings(acting.principal)
            if h.consignor_id == acting.membership.organization_id
        ]
        products = await ProductService(uow).get_many(h.product_id for h in holdings)
        cooperatives = await OrganizationDirectory(uow).get_many(
            sorted({h.cooperative_id for h in holdings})
        )
        by_cooperative: dict[uuid.UUID, list[Any]] = {}
        for holding in holdings:
            by_cooperative.setdefault(holding.cooperative_id, []).append(holding)
        return render(
            request,
            "consignor/goods.html",
            membership=acting.membership,
            today=clock.today_in(acting.membership.time_zone),
            by_cooperative=by_cooperative,
            cooperatives=cooperatives,
            products=products,
        )

    @get("/dibayar")
    async def payments(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        me = acting.membership.organization_id
        outlooks = [
            o
            for o in await ConsignmentPosition(uow).outlook(acting.principal)
            if o.agreement.consignor_id == me and o.agreement.status == AgreementStatus.ACTIVE
        ]
        settlements = SettlementService(uow)
        statements, paid = await settlements.statements(
            acting.principal, consignor_id=me, after=None, limit=LIMIT
        )
        payouts = await settlements.payouts(acting.principal, status=None, after=None, limit=LIMIT)
        cooperatives = await OrganizationDirectory(uow).get_many(
            sorted(
                {o.agreement.cooperative_id for o in outlooks}
                | {s.cooperative_id for s in statements}
                | {p.cooperative_id for p in payouts}
            )
        )
        return render(
            request,
            "consignor/payments.html",
            membership=acting.membership,
            outlooks=outlooks,
            statements=statements,
            statement_payouts=paid,
            payouts=sorted(payouts, key=lambda p: p.created_at, reverse=True),
            cooperatives=cooperatives,
            payout_state=payout_state,
            percent=percent_of,
            zone=acting.membership.time_zone,
            local_date=clock.local_date,
        )

    @get("/laporan-konsinyasi/{statement_id:uuid}")
    async def statement(
        self, request: PageRequest, uow: UoW, statement_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        try:
            found = await SettlementService(uow).statement(acting.principal, statement_id)
        except NotFound:
            return not_found_page(request)
        statement, payout, sales, returns, adjustments = found
        products = await ProductService(uow).get_many(s.product_id for s in sales)
        parties = await OrganizationDirectory(uow).get_many(
            sorted({statement.cooperative_id, statement.consignor_id})
        )
        return render(
            request,
            "consignor/statement.html",
            membership=acting.membership,
            statement=statement,
            payout=payout,
            sales=sales,
            returns=returns,
            adjustments=adjustments,
            products=products,
            cooperative=parties.get(statement.cooperative_id),
            consignor=parties.get(statement.consignor_id),
            payout_state=payout_state,
            zone=acting.membership.time_zone,
            local_date=clock.local_date,
            is_cooperative=acting.membership.organization_id == statement.cooperative_id,
        )

    @get("/titip")
    async def propose_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        return await _propose_page(request, uow, acting)

    @post("/titip", status_code=303)
    async def propose(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        values = {
            name: field_of(form, name).strip()
            for name in ("agreement_id", "product_id", "quantity", "unit_price", "expiry_date")
        }
        errors: dict[str, str] = {}
        quantity = whole_number(values["quantity"])
        if quantity is None:
            errors["quantity"] = _("Write how many: a whole number, 1 or more.")
        price = whole_number(values["unit_price"], high=MAX_PRICE)
        if price is None:
            errors["unit_price"] = _("Write your selling price in whole rupiah, such as 25000.")
        expiry: dt.date | None = None
        if values["expiry_date"]:
            try:
                expiry = dt.date.fromisoformat(values["expiry_date"])
            except ValueError:
                errors["expiry_date"] = _("Write the date as on a calendar, such as 2026-12-31.")
        try:
            agreement_id = uuid.UUID(values["agreement_id"])
            product_id = uuid.UUID(values["product_id"])
        except ValueError:
            errors["product_id"] = _("Choose the cooperative and the product.")
        if errors:
            return await _propose_page(request, uow, acting, errors=errors, values=values)
        try:
            data = IntakeCreate(
                agreement_id=agreement_id,
                product_id=product_id,
                quantity=quantity or 0,
                unit_price=price or 0,
                expiry_date=expiry,
            )

            async def propose() -> str:
                intake = await ConsignmentService(uow).create_intake(acting.principal, data)
                return f"/titip#intake-{intake.id}"

            location = await run_once(
                uow,
                organization_id=acting.principal.organization_id,
                form=form,
                operation="consignment.propose_intake",
                action=propose,
                if_changed="/titip",
            )
        except (ValueError, msgspec.ValidationError):
            errors["expiry_date"] = _("This date is too far away.")
        except NotFound:
            errors["product_id"] = _("Choose the cooperative and the product.")
        except DomainError as refusal:
            if refusal.code == "listings.price_above_cap":
                errors["unit_price"] = refusal_text(refusal)
            elif refusal.code == "validation_failed" and "today" in refusal.extra:
                errors["expiry_date"] = _("The goods must not be expired already.")
            else:
                errors["form"] = refusal_text(refusal)
        if errors:
            await uow.rollback()
            return await _propose_page(request, uow, acting, errors=errors, values=values)
        return Redirect(location, status_code=303)


async def _propose_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response[Any]:
    me = acting.membership.organization_id
    consignment = ConsignmentService(uow)
    agreements = [
        a
        for a in await consignment.agreements(acting.principal, after=None, limit=LIMIT)
        if a.consignor_id == me and a.status == AgreementStatus.ACTIVE
    ]
    intakes = [
        i
        for i in await consignment.intakes(
            acting.principal, status=None, expired=None, after=None, limit=LIMIT
        )
        if i.consignor_id == me
    ]
    intakes.sort(key=lambda i: i.created_at, reverse=True)
    products = ProductService(uow)
    # The catalogue is large: the owner narrows it by name (the API's product search).
    query = field_of(request.query_params, "q").strip()[:100] or None
    offered = await products.browse(query=query, category=None, after=None, limit=PRODUCTS_SHOWN)
    # A refused form is shown again with the product it named still chosen, even when the
    # search that found it is not in this request's address (the form posts without it):
    # otherwise the first product listed would be chosen and proposed on the next send.
    chosen = _product_id_of((values or {}).get("product_id", ""))
    if chosen is not None and all(p.id != chosen for p in offered):
        offered += (await products.get_many([chosen])).values()
    names = {p.id: p for p in offered} | await products.get_many(i.product_id for i in intakes)
    cooperatives = await OrganizationDirectory(uow).get_many(
        sorted({a.cooperative_id for a in agreements} | {i.cooperative_id for i in intakes})
    )
    return render(
        request,
        "consignor/propose.html",
        status=422 if errors else 200,
        query=query or "",
        membership=acting.membership,
        agreements=agreements,
        intakes=intakes,
        offered=sorted(offered, key=lambda p: p.name),
        products=names,
        cooperatives=cooperatives,
        intake_state=intake_state,
        errors=errors or {},
        values=values or {},
    )


def _product_id_of(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


__all__ = ["ConsignorController"]
