"""HTTP endpoints of Bulog purchase lots."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, Parameter

from marketplace.answers import from_row
from marketplace.dependencies import Caller, UoW
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_id_cursor,
    paginate,
    problem_responses,
)
from marketplace.procurement.lots.models import BulogLot
from marketplace.procurement.lots.schemas import (
    BulogLotOut,
    BulogLotPage,
    BulogPurchaseOrderOut,
    DemandLineOut,
    LotReceiptCreate,
    LotReceiptOut,
    LotStatusName,
    UnfilledOut,
)
from marketplace.procurement.lots.service import LotService, LotView


def lot_out(lot: BulogLot, view: LotView | None = None) -> BulogLotOut:
    po = view.purchase_order if view else None
    return from_row(
        BulogLotOut,
        lot,
        currency="IDR",
        demand_lines=[from_row(DemandLineOut, line) for line in view.lines] if view else None,
        purchase_order=from_row(BulogPurchaseOrderOut, po, currency="IDR") if po else None,
    )


class BulogLotController(Controller):
    path = "/v1/procurement/bulog-lots"
    tags = ["procurement"]

    @get(
        "/",
        operation_id="listBulogLots",
        description=(
            "Your Bulog purchase lots (the cooperatives' pooled rice orders to a Bulog "
            "branch), newest first, as cooperative or as Bulog branch. `status` filters."
        ),
        summary="Your Bulog purchase lots (as cooperative or Bulog branch), newest first",
        responses=problem_responses(401),
    )
    async def list_lots(
        self,
        uow: UoW,
        principal: Caller,
        status: Annotated[LotStatusName | None, Parameter()] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> BulogLotPage:
        lots = await LotService(uow).page(
            principal, status=status, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(lots, limit, lambda r: [r.id])
        return BulogLotPage(
            items=[lot_out(lot) for lot in page],
            next_cursor=next_cursor,
        )

    @get(
        "/{lot_id:uuid}",
        operation_id="getBulogLot",
        description=(
            "One Bulog lot with its demand lines (the orders it pools) and, once "
            "submitted, its purchase order."
        ),
        summary="One lot with its demand lines (their orders) and purchase order",
        responses=problem_responses(401, 404),
    )
    async def get_lot(
        self, lot_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> BulogLotOut:
        view = await LotService(uow).get(principal, lot_id)
        return lot_out(view.lot, view)

    @post(
        "/{lot_id:uuid}/submit",
        operation_id="submitBulogLot",
        description=(
            "A cooperative's `seller` key closes an open lot before its cut-off: it "
            "becomes a purchase order to the Bulog branch. An empty lot is 409 "
            "`procurement.lot_empty`; a lot no longer open is 409 "
            "`procurement.lot_not_open`."
        ),
        summary="Close an open lot before its cut-off; it becomes a purchase order to Bulog",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def submit_lot(
        self, lot_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> BulogLotOut:
        view = await LotService(uow).submit(principal, lot_id)
        await uow.commit()
        return lot_out(view.lot, view)

    @post(
        "/{lot_id:uuid}/receive",
        operation_id="receiveBulogLot",
        summary="Record Bulog's delivery: stock in, waiting legs released oldest order first",
        description=(
            "The received goods are shared out oldest order first; what the legs got is "
            "received into the Bulog listing and reserved for them (they ship from it), the "
            "surplus becomes the cooperative's own stock, and legs left short are reported."
        ),
        status_code=200,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def receive_lot(
        self,
        lot_id: FromPath[uuid.UUID],
        data: JSONBody[LotReceiptCreate],
        uow: UoW,
        principal: Caller,
    ) -> LotReceiptOut:
        result = await LotService(uow).receive(principal, lot_id, data.received_quantity, data.note)
        await uow.commit()
        allocation = result.allocation
        return LotReceiptOut(
            lot=lot_out(result.view.lot, result.view),
            released_total=allocation.released_total,
            unfilled_total=allocation.unfilled_total,
            surplus=allocation.surplus,
            surplus_listing_id=result.surplus_listing_id,
            unfilled=[
                UnfilledOut(
                    leg_id=r.leg_id,
                    order_id=r.order_id,
                    demanded=r.demanded,
                    released=r.released,
                    unfilled=r.unfilled,
                )
                for r in allocation.releases
                if r.unfilled
            ],
        )
