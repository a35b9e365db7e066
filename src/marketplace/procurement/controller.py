"""HTTP endpoints of Bulog purchase lots and inter-city trade contracts."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, Parameter

from marketplace.dependencies import Caller, UoW
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_id_cursor,
    paginate,
    problem_responses,
)
from marketplace.idempotency import IdempotencyKeyHeader, run_idempotent
from marketplace.procurement.contracts.service import ContractService, ContractView
from marketplace.procurement.lots.service import LotService, LotView
from marketplace.procurement.models import BulogLot, TradeContract, TradeShipment
from marketplace.procurement.schemas import (
    AllotmentOut,
    BulogLotOut,
    BulogLotPage,
    BulogPurchaseOrderOut,
    DemandLineOut,
    LotReceiptCreate,
    LotReceiptOut,
    LotStatusName,
    ShipmentCreate,
    ShipmentOut,
    ShortfallCreate,
    ShortfallOut,
    TradeContractCreate,
    TradeContractOut,
    TradeContractPage,
    TradeContractSummary,
    UnfilledOut,
    WeekOut,
)


def lot_out(lot: BulogLot, view: LotView | None = None) -> BulogLotOut:
    po = view.purchase_order if view else None
    return BulogLotOut(
        id=lot.id,
        cooperative_organization_id=lot.cooperative_organization_id,
        product_id=lot.product_id,
        bulog_organization_id=lot.bulog_organization_id,
        listing_id=lot.listing_id,
        status=lot.status,  # type: ignore[arg-type]
        lot_unit=lot.lot_unit,
        lot_size=lot.lot_size,
        unit_price=lot.unit_price,
        currency="IDR",
        cutoff_at=lot.cutoff_at,
        total_demand=lot.total_demand,
        order_quantity=lot.order_quantity,
        surplus=lot.surplus,
        closed_at=lot.closed_at,
        close_reason=lot.close_reason,
        received_quantity=lot.received_quantity,
        received_at=lot.received_at,
        created_at=lot.created_at,
        demand_lines=[
            DemandLineOut(
                leg_id=line.leg_id,
                order_id=line.order_id,
                buyer_organization_id=line.buyer_organization_id,
                ordered_at=line.ordered_at,
                quantity=line.quantity,
                released_quantity=line.released_quantity,
                unfilled_quantity=line.unfilled_quantity,
                withdrawn_at=line.withdrawn_at,
            )
            for line in view.lines
        ]
        if view
        else None,
        purchase_order=BulogPurchaseOrderOut(
            id=po.id,
            bulog_organization_id=po.bulog_organization_id,
            quantity=po.quantity,
            unit_price=po.unit_price,
            total=po.total,
            currency="IDR",
            status=po.status,
            created_at=po.created_at,
        )
        if po
        else None,
    )


def contract_out(view: ContractView) -> TradeContractOut:
    c = view.contract
    return TradeContractOut(
        id=c.id,
        trade_center_organization_id=c.trade_center_organization_id,
        counterparty_organization_id=c.counterparty_organization_id,
        counterparty_city_code=c.counterparty_city_code,
        product_id=c.product_id,
        weekly_volume=c.weekly_volume,
        allotted=sum(a.quantity for a in view.allotments),
        unplaced=c.unplaced,
        unit_price=c.unit_price,
        levy_bps=c.levy_bps,
        currency="IDR",
        start_date=c.start_date,
        end_date=c.end_date,
        status=c.status,
        allotments=[
            AllotmentOut(
                id=a.id,
                supplier_organization_id=a.supplier_organization_id,
                position=a.position,
                declared_capacity=a.declared_capacity,
                capacity=a.capacity,
                weekly_quantity=a.quantity,
            )
            for a in view.allotments
        ],
        weeks=[
            WeekOut(
                week_start=w.week_start,
                iso_week=w.iso_week,
                volume=w.volume,
                allotted=w.allotted,
                called_off=w.called_off,
                shipped=w.shipped,
                shipped_amount=w.shipped_amount,
                levy=w.levy,
                currency="IDR",
            )
            for w in view.weeks
        ],
        created_at=c.created_at,
    )


def contract_summary(c: TradeContract) -> TradeContractSummary:
    return TradeContractSummary(
        id=c.id,
        trade_center_organization_id=c.trade_center_organization_id,
        counterparty_organization_id=c.counterparty_organization_id,
        counterparty_city_code=c.counterparty_city_code,
        product_id=c.product_id,
        weekly_volume=c.weekly_volume,
        unplaced=c.unplaced,
        unit_price=c.unit_price,
        levy_bps=c.levy_bps,
        currency="IDR",
        start_date=c.start_date,
        end_date=c.end_date,
        status=c.status,
        created_at=c.created_at,
    )


def shipment_out(shipment: TradeShipment, view: ContractView) -> ShipmentOut:
    return ShipmentOut(
        id=shipment.id,
        contract_id=shipment.contract_id,
        allotment_id=shipment.allotment_id,
        week_start=shipment.week_start,
        quantity=shipment.quantity,
        amount=shipment.amount,
        levy_amount=shipment.levy_amount,
        currency="IDR",
        reference=shipment.reference,
        created_at=shipment.created_at,
        contract=contract_out(view),
    )


class BulogLotController(Controller):
    path = "/v1/procurement/bulog-lots"
    tags = ["procurement"]

    @get(
        "/",
        operation_id="listBulogLots",
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


class TradeContractController(Controller):
    path = "/v1/procurement/trade-contracts"
    tags = ["procurement"]

    @post(
        "/",
        operation_id="createTradeContract",
        summary="A trade center signs an inter-city contract; its weekly volume is allotted",
        description=(
            "The weekly volume is allotted across the supplying cooperatives in proportion "
            "to their declared weekly capacity (largest remainder, units add up exactly)."
        ),
        responses=problem_responses(401, 403, 422),
    )
    async def create_contract(
        self, data: JSONBody[TradeContractCreate], uow: UoW, principal: Caller
    ) -> TradeContractOut:
        view = await ContractService(uow).create(principal, data)
        await uow.commit()
        return contract_out(view)

    @get(
        "/",
        operation_id="listTradeContracts",
        summary="Contracts you signed, buy under or supply, newest first",
        responses=problem_responses(401),
    )
    async def list_contracts(
        self,
        uow: UoW,
        principal: Caller,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> TradeContractPage:
        contracts = await ContractService(uow).page(
            principal, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(contracts, limit, lambda r: [r.id])
        return TradeContractPage(
            items=[contract_summary(c) for c in page],
            next_cursor=next_cursor,
        )

    @get(
        "/{contract_id:uuid}",
        operation_id="getTradeContract",
        summary="Volume, allotments, and per ISO week: allotted, called off, shipped, levy",
        responses=problem_responses(401, 404),
    )
    async def get_contract(
        self, contract_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> TradeContractOut:
        return contract_out(await ContractService(uow).get(principal, contract_id))

    @post(
        "/{contract_id:uuid}/allotments/{allotment_id:uuid}/shortfall",
        operation_id="declareTradeShortfall",
        summary="A supplier cannot ship its whole allotment: re-allot the rest down the list",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def declare_shortfall(
        self,
        contract_id: FromPath[uuid.UUID],
        allotment_id: FromPath[uuid.UUID],
        data: JSONBody[ShortfallCreate],
        uow: UoW,
        principal: Caller,
    ) -> ShortfallOut:
        result = await ContractService(uow).shortfall(principal, contract_id, allotment_id, data)
        await uow.commit()
        return ShortfallOut(contract=contract_out(result.view), unplaced=result.unplaced)

    @post(
        "/{contract_id:uuid}/shipments",
        operation_id="recordTradeShipment",
        summary="Record a delivery against an allotment; its levy is posted to the ledger",
        description="Requires an `Idempotency-Key` (it posts money).",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def record_shipment(
        self,
        contract_id: FromPath[uuid.UUID],
        data: JSONBody[ShipmentCreate],
        uow: UoW,
        principal: Caller,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[ShipmentOut]:
        # Another organization's contract is a 404 whether or not a key was sent.
        await ContractService(uow).ensure_visible(principal, contract_id)

        async def action() -> ShipmentOut:
            shipment, view = await ContractService(uow).record_shipment(
                principal, contract_id, data
            )
            return shipment_out(shipment, view)

        return await run_idempotent(
            uow,
            organization_id=principal.organization_id,
            key=idempotency_key,
            operation=f"procurement.trade_shipment:{contract_id}",
            request=data,
            response_type=ShipmentOut,
            action=action,
        )
