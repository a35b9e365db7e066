"""HTTP endpoints of inter-city trade contracts."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody

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
from marketplace.idempotency import IdempotencyKeyHeader, run_idempotent
from marketplace.procurement.contracts.models import TradeContract, TradeShipment
from marketplace.procurement.contracts.schemas import (
    AllotmentOut,
    AllotmentShortfallOut,
    ShipmentCreate,
    ShipmentOut,
    ShortfallCreate,
    TradeContractCreate,
    TradeContractOut,
    TradeContractPage,
    TradeContractSummary,
    WeekOut,
)
from marketplace.procurement.contracts.service import ContractService, ContractView


def contract_out(view: ContractView) -> TradeContractOut:
    return from_row(
        TradeContractOut,
        view.contract,
        allotted=sum(a.quantity for a in view.allotments),
        currency="IDR",
        allotments=[from_row(AllotmentOut, a, weekly_quantity=a.quantity) for a in view.allotments],
        weeks=[from_row(WeekOut, w, currency="IDR") for w in view.weeks],
    )


def contract_summary(c: TradeContract) -> TradeContractSummary:
    return from_row(TradeContractSummary, c, currency="IDR")


def shipment_out(shipment: TradeShipment, view: ContractView) -> ShipmentOut:
    return from_row(ShipmentOut, shipment, currency="IDR", contract=contract_out(view))


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
        description=(
            "Inter-city trade contracts you signed (a trade center), buy under or supply,"
            " newest first."
        ),
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
        description=(
            "One trade contract: its volume, the suppliers' allotments, and per ISO week "
            "what was allotted, called off, shipped and the levy."
        ),
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
        description=(
            "A supplier's `seller` key declares that it cannot ship the rest of its "
            "allotment; the remainder is re-allotted down the list of suppliers. "
            "`unplaced` says how much no other supplier had the capacity to take. A "
            "quantity beyond what is left is 422 `procurement.invalid_shortfall`."
        ),
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
    ) -> AllotmentShortfallOut:
        result = await ContractService(uow).shortfall(principal, contract_id, allotment_id, data)
        await uow.commit()
        return AllotmentShortfallOut(contract=contract_out(result.view), unplaced=result.unplaced)

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
