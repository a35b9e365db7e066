"""The clerk's consignment page: agreements and what each cycle owes so far, running a
settlement, the statements, and marking payouts paid.

A run settles every consignor of the cooperative up to now (`SettlementService.run_for`,
as the API's `POST /v1/consignment/settlement-runs`); a payout is marked paid with the bank
transfer's reference (`SettlementService.mark_paid`, repeating it with the same reference
changes nothing). Both need the finance role (or admin), as on the API.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory, OrganizationKind
from marketplace.consignment import (
    AgreementCreate,
    ConsignmentPosition,
    ConsignmentService,
    PayoutStatus,
    SettlementService,
)
from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound
from marketplace.web.clerk.forms import percent_of, reason_of, refusal_text, whole_number
from marketplace.web.consignor.controller import payout_state
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
MAX_REFERENCE = 100
MAX_CYCLE_DAYS = 366
MAX_COMMISSION_PERCENT = 50


def _percent_bps(raw: str) -> int | None:
    """`10` or `12,5` percent as basis points (1000, 1250), if from 0 to 50 percent."""
    text = raw.replace(",", ".").removesuffix("%").strip()
    try:
        percent = float(text)
    except ValueError:
        return None
    if not 0 <= percent <= MAX_COMMISSION_PERCENT or len(text) > 6:
        return None
    return round(percent * 100)


async def consignment_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int | None = None,
) -> Response[Any]:
    me = acting.membership.organization_id
    directory = OrganizationDirectory(uow)
    cooperative = await directory.get(me)
    city = cooperative.region_code[:5] if cooperative else ""
    local_umkm = [
        u for u in await directory.of_kind(OrganizationKind.UMKM) if u.region_code[:5] == city
    ]
    outlooks = [
        o
        for o in await ConsignmentPosition(uow).outlook(acting.principal)
        if o.agreement.cooperative_id == me
    ]
    settlements = SettlementService(uow)
    statements, paid = await settlements.statements(
        acting.principal, consignor_id=None, after=None, limit=LIMIT
    )
    pending = await settlements.payouts(
        acting.principal, status=PayoutStatus.PENDING, after=None, limit=LIMIT
    )
    consignors = await directory.get_many(
        sorted({o.agreement.consignor_id for o in outlooks} | {s.consignor_id for s in statements})
    )
    return render(
        request,
        "clerk/consignment.html",
        status=status or (422 if errors else 200),
        membership=acting.membership,
        outlooks=outlooks,
        statements=[s for s in statements if s.cooperative_id == me],
        statement_payouts=paid,
        pending=[p for p in pending if p.cooperative_id == me],
        consignors=consignors,
        payout_state=payout_state,
        percent=percent_of,
        zone=acting.membership.time_zone,
        local_date=clock.local_date,
        local_umkm=sorted(
            (
                u
                for u in local_umkm
                if u.id
                not in {
                    o.agreement.consignor_id for o in outlooks if o.agreement.status == "active"
                }
            ),
            key=lambda u: u.name,
        ),
        errors=errors or {},
        values=values or {"commission": "10", "cycle": "7"},
    )


class ConsignmentDeskController(Controller):
    path = "/konsinyasi"
    include_in_schema = False

    @get("/")
    async def page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        return await consignment_page(request, uow, acting)

    @post("/perjanjian", status_code=303)
    async def agree(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        names = ("consignor_id", "commission", "cycle", "bank", "account", "holder")
        values = {name: field_of(form, name).strip() for name in names}
        errors: dict[str, str] = {}
        commission = _percent_bps(values["commission"])
        if commission is None:
            errors["commission"] = _("Write the commission in percent, from 0 to 50.")
        cycle = whole_number(values["cycle"], high=MAX_CYCLE_DAYS)
        if cycle is None:
            errors["cycle"] = _("Write the settlement cycle in days, from 1 to 366.")
        if not values["account"].isdigit() or not 6 <= len(values["account"]) <= 20:
            errors["account"] = _("Write the account number: 6 to 20 digits.")
        if len(values["bank"]) < 2:
            errors["bank"] = _("Write the bank's name.")
        if not values["holder"]:
            errors["holder"] = _("Write the account holder's name.")
        if errors:
            return await consignment_page(request, uow, acting, errors=errors, values=values)
        try:
            data = msgspec.convert(
                {
                    "consignor_id": values["consignor_id"],
                    "commission_bps": commission,
                    "settlement_cycle_days": cycle,
                    "payout_account": {
                        "bank_name": values["bank"][:100],
                        "account_number": values["account"],
                        "account_holder": values["holder"][:200],
                    },
                },
                AgreementCreate,
            )
            await ConsignmentService(uow).create_agreement(acting.principal, data)
        except (msgspec.ValidationError, NotFound):
            await uow.rollback()
            errors = {"consignor_id": _("Choose a UMKM of this city.")}
            return await consignment_page(request, uow, acting, errors=errors, values=values)
        except DomainError as refusal:
            await uow.rollback()
            errors = {"consignor_id": refusal_text(refusal)}
            return await consignment_page(
                request, uow, acting, errors=errors, values=values, status=refusal.status
            )
        await uow.commit()
        return Redirect("/konsinyasi#agreements", status_code=303)

    @post("/penyelesaian", status_code=303)
    async def settle(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting

        async def settle() -> str:
            run = await SettlementService(uow).run_for(acting.principal, clock.now(), None)
            return f"/konsinyasi?run={run.id}#statements"

        try:
            location = await run_once(
                uow,
                organization_id=acting.principal.organization_id,
                form=await request.form(),
                operation="consignment.settle",
                action=settle,
                if_changed="/konsinyasi#statements",
            )
        except DomainError as refusal:
            await uow.rollback()
            errors = {"settle": refusal_text(refusal)}
            return await consignment_page(
                request, uow, acting, errors=errors, status=refusal.status
            )
        return Redirect(location, status_code=303)

    @post("/pembayaran/{payout_id:uuid}/lunas", status_code=303)
    async def mark_paid(
        self, request: PageRequest, uow: UoW, payout_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        field = f"reference-{payout_id}"
        reference = reason_of(field_of(form, field))
        if reference is None or len(reference) > MAX_REFERENCE:
            errors = {field: _("Write the bank transfer's reference (up to 100 characters).")}
            return await consignment_page(request, uow, acting, errors=errors)
        try:
            await SettlementService(uow).mark_paid(acting.principal, payout_id, reference)
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except DomainError as refusal:
            await uow.rollback()
            errors = {field: refusal_text(refusal)}
            return await consignment_page(request, uow, acting, errors=errors)
        await uow.commit()
        return Redirect("/konsinyasi#statements", status_code=303)


__all__ = ["ConsignmentDeskController"]
