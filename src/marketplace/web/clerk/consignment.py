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

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory
from marketplace.consignment import ConsignmentPosition, PayoutStatus, SettlementService
from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound
from marketplace.web.clerk.forms import reason_of, refusal_text
from marketplace.web.consignor.controller import payout_state
from marketplace.web.controller import (
    PageRequest,
    SignedIn,
    field_of,
    not_found_page,
    signed_in,
)
from marketplace.web.i18n import gettext_ as _
from marketplace.web.pages import render

LIMIT = 100
MAX_REFERENCE = 100


async def consignment_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    *,
    errors: dict[str, str] | None = None,
    said: str | None = None,
) -> Response[Any]:
    me = acting.membership.organization_id
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
    consignors = await OrganizationDirectory(uow).get_many(
        sorted({o.agreement.consignor_id for o in outlooks} | {s.consignor_id for s in statements})
    )
    return render(
        request,
        "clerk/consignment.html",
        status=(422 if errors else 200),
        membership=acting.membership,
        outlooks=outlooks,
        statements=[s for s in statements if s.cooperative_id == me],
        statement_payouts=paid,
        pending=[p for p in pending if p.cooperative_id == me],
        consignors=consignors,
        payout_state=payout_state,
        zone=acting.membership.time_zone,
        local_date=clock.local_date,
        errors=errors or {},
        said=said,
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

    @post("/penyelesaian", status_code=303)
    async def settle(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        try:
            run = await SettlementService(uow).run_for(acting.principal, clock.now(), None)
        except DomainError as refusal:
            await uow.rollback()
            errors = {"settle": refusal_text(refusal)}
            return await consignment_page(request, uow, acting, errors=errors)
        await uow.commit()
        return Redirect(f"/konsinyasi?run={run.id}#statements", status_code=303)

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
