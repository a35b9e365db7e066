"""The cooperative clerk's work queue for today and tomorrow (the cooperative's dates).

Intakes to receive (Terima with the quantity really received, Tolak with a reason), order
legs to pick and ship grouped by delivery date and buyer, Bulog lots due to arrive, and
consigned goods to hand back (expired or about to). Each action calls the service the API
calls (`ConsignmentService`, `OrderService.ship`, `LotService.receive`) in the request's
unit of work and redirects back (POST-redirect-GET); a refusal shows the queue again with
the sentence next to the form concerned. Another organization's object is not found.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable
from itertools import groupby
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory
from marketplace.consignment import (
    ConsignmentPosition,
    ConsignmentService,
    IntakeConfirm,
    IntakeReject,
    IntakeStatus,
    ReturnCreate,
)
from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound
from marketplace.listings import ProductService
from marketplace.orders import LegStatus, OrderService
from marketplace.procurement import LotService
from marketplace.web.clerk.forms import MAX_QUANTITY, reason_of, refusal_text, whole_number
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

QUEUE_LIMIT = 200


async def work_queue_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    principal = acting.principal
    me = acting.membership.organization_id
    today = clock.today_in(acting.membership.time_zone)
    tomorrow = today + dt.timedelta(days=1)
    consignment = ConsignmentService(uow)
    intakes = [
        i
        for i in await consignment.intakes(
            principal, status=IntakeStatus.PROPOSED, expired=None, after=None, limit=QUEUE_LIMIT
        )
        if i.cooperative_id == me
    ]
    legs = await OrderService(uow).legs_due(
        principal, [today, tomorrow], [LegStatus.RESERVED, LegStatus.SHIPPED]
    )
    lots = [
        lot
        for lot in await LotService(uow).page(
            principal, status="closed", after=None, limit=QUEUE_LIMIT
        )
        if lot.cooperative_organization_id == me
    ]
    to_return = [
        (holding, intake)
        for holding in await ConsignmentPosition(uow).holdings(principal)
        if holding.cooperative_id == me
        for intake in holding.expiring
    ]
    products = await ProductService(uow).get_many(
        {i.product_id for i in intakes}
        | {leg.product_id for leg, _ in legs}
        | {lot.product_id for lot in lots}
        | {h.product_id for h, _ in to_return}
    )
    parties = await OrganizationDirectory(uow).get_many(
        sorted(
            {i.consignor_id for i in intakes}
            | {leg.buyer_organization_id for leg, _ in legs}
            | {h.consignor_id for h, _ in to_return}
        )
    )
    groups = [
        (day, buyer, list(rows))
        for (day, buyer), rows in groupby(legs, key=lambda r: (r[1], r[0].buyer_organization_id))
    ]
    return render(
        request,
        "clerk/queue.html",
        status=status,
        membership=acting.membership,
        today=today,
        tomorrow=tomorrow,
        intakes=intakes,
        groups=groups,
        lots=lots,
        to_return=to_return,
        products=products,
        parties=parties,
        kind_label=leg_kind_label,
        status_label=status_label,
        errors=errors or {},
        values=values or {},
    )


async def _refused(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    field: str,
    message: str,
    values: dict[str, str],
    status: int = 422,
) -> Response[Any]:
    await uow.rollback()  # row locks taken while trying, nothing else
    return await work_queue_page(
        request, uow, acting, errors={field: message}, values=values, status=status
    )


async def _act(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    action: Awaitable[object],
    *,
    field: str,
    values: dict[str, str],
    then: str = "/kerja",
) -> Response[Any]:
    """One work-queue action: done and committed (back to the queue), another
    organization's object not found, or refused with its reason next to the field."""
    try:
        await action
    except NotFound:
        await uow.rollback()
        return not_found_page(request)
    except DomainError as refusal:
        return await _refused(
            request, uow, acting, field, refusal_text(refusal), values, refusal.status
        )
    await uow.commit()
    return Redirect(then, status_code=303)


class WorkQueueController(Controller):
    path = "/kerja"
    include_in_schema = False

    @get("/")
    async def queue(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        return await work_queue_page(request, uow, acting)

    @post("/titipan/{intake_id:uuid}/terima", status_code=303)
    async def confirm_intake(
        self, request: PageRequest, uow: UoW, intake_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        field = f"received-{intake_id}"
        raw = field_of(form, field)
        received = whole_number(raw)
        values = {field: raw}
        if received is None:
            message = _("Write how many really arrived: a whole number, 1 or more.")
            return await _refused(request, uow, acting, field, message, values)
        confirm = ConsignmentService(uow).confirm_intake(
            acting.principal, intake_id, IntakeConfirm(received_quantity=received)
        )
        return await _act(request, uow, acting, confirm, field=field, values=values)

    @post("/titipan/{intake_id:uuid}/tolak", status_code=303)
    async def reject_intake(
        self, request: PageRequest, uow: UoW, intake_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        field = f"reason-{intake_id}"
        reason = reason_of(field_of(form, field))
        values = {field: field_of(form, field)}
        if reason is None:
            message = _("Write why the goods are refused.")
            return await _refused(request, uow, acting, field, message, values)
        reject = ConsignmentService(uow).reject_intake(
            acting.principal, intake_id, IntakeReject(reason=reason)
        )
        return await _act(request, uow, acting, reject, field=field, values=values)

    @post("/kirim/{leg_id:uuid}", status_code=303)
    async def ship(
        self, request: PageRequest, uow: UoW, leg_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        return await _act(
            request,
            uow,
            acting,
            OrderService(uow).ship(acting.principal, leg_id),
            field=f"ship-{leg_id}",
            values={},
            then=f"/kerja#leg-{leg_id}",
        )

    @post("/lot/{lot_id:uuid}/terima", status_code=303)
    async def receive_lot(
        self, request: PageRequest, uow: UoW, lot_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        field = f"lot-{lot_id}"
        raw = field_of(form, field)
        received = whole_number(raw, low=0)
        note = reason_of(field_of(form, f"lot-note-{lot_id}"))
        values = {field: raw}
        if received is None:
            message = _("Write how many arrived: a whole number, 0 or more.")
            return await _refused(request, uow, acting, field, message, values)
        return await _act(
            request,
            uow,
            acting,
            LotService(uow).receive(acting.principal, lot_id, received, note),
            field=field,
            values=values,
        )

    @post("/titipan/{intake_id:uuid}/kembalikan", status_code=303)
    async def hand_back(
        self, request: PageRequest, uow: UoW, intake_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        field = f"return-{intake_id}"
        raw = field_of(form, field)
        quantity = whole_number(raw, high=MAX_QUANTITY)
        reason = reason_of(field_of(form, f"return-reason-{intake_id}")) or _("Expired")
        values = {field: raw}
        if quantity is None:
            message = _("Write how many are handed back: a whole number, 1 or more.")
            return await _refused(request, uow, acting, field, message, values)
        data = msgspec.convert(
            {"quantity": quantity, "reason": reason, "intake_id": str(intake_id)}, ReturnCreate
        )
        hand_back = ConsignmentService(uow).record_return(acting.principal, data)
        return await _act(request, uow, acting, hand_back, field=field, values=values)


__all__ = ["WorkQueueController", "work_queue_page"]
