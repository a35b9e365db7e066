"""HTTP endpoints of consignment: placing goods (agreements, intakes, returns). Settling
them (runs, statements, adjustments, payouts) is `consignment.settlement.controller`."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from marketplace.conditional_requests import (
    IfMatchHeader,
    IfNoneMatchHeader,
    conditional_read_responses,
    conditional_write_responses,
    etag_header,
    fresh_or_tagged,
    if_match,
    tagged,
)
from marketplace.consignment.answers import (
    agreement_out,
    intake_out,
    return_out,
)
from marketplace.consignment.domain import IntakeStatus
from marketplace.consignment.schemas import (
    AgreementCreate,
    AgreementOut,
    AgreementPage,
    AgreementUpdate,
    IntakeConfirm,
    IntakeCreate,
    IntakeOut,
    IntakePage,
    IntakeReject,
    ReturnCreate,
    ReturnOut,
)
from marketplace.consignment.service import ConsignmentService
from marketplace.dependencies import Caller, UoW
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_id_cursor,
    paginate,
    problem_responses,
)


class ConsignmentController(Controller):
    path = "/v1/consignment"
    tags = ["consignment"]

    # --- agreements ------------------------------------------------------------------

    @post(
        "/agreements",
        operation_id="createConsignmentAgreement",
        description=(
            "A cooperative's `admin` signs a consignment agreement with a UMKM: "
            "commission (in basis points, 1000 = 10 %), settlement cycle in days and the "
            "consignor's bank account for payouts. The UMKM can then propose intakes. A "
            "platform admin names the cooperative (`cooperative_id`). One active "
            "agreement per pair: a second is 409 `consignment.agreement_exists`."
        ),
        summary="The cooperative's admin signs a consignment agreement with a UMKM",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def create_agreement(
        self, data: JSONBody[AgreementCreate], uow: UoW, principal: Caller
    ) -> AgreementOut:
        agreement = await ConsignmentService(uow).create_agreement(principal, data)
        await uow.commit()
        return agreement_out(agreement)

    @get(
        "/agreements",
        operation_id="listConsignmentAgreements",
        description=(
            "The consignment agreements your organization is a party to (as cooperative "
            "or as consignor), paginated."
        ),
        summary="Agreements your organization is a party to",
        responses=problem_responses(401),
    )
    async def list_agreements(
        self,
        uow: UoW,
        principal: Caller,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> AgreementPage:
        rows = await ConsignmentService(uow).agreements(
            principal, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return AgreementPage(
            items=[agreement_out(a) for a in page],
            next_cursor=next_cursor,
        )

    @get(
        "/agreements/{agreement_id:uuid}",
        operation_id="getConsignmentAgreement",
        description=(
            "One consignment agreement with both parties. Visible to the cooperative, the"
            " consignor and the platform; otherwise 404."
        ),
        summary="One agreement (the cooperative and the consignor)",
        responses=conditional_read_responses(401, 404),
        response_headers=etag_header("the agreement"),
    )
    async def get_agreement(
        self,
        agreement_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        if_none_match: IfNoneMatchHeader = None,
    ) -> Response[AgreementOut]:
        agreement = await ConsignmentService(uow).agreement(principal, agreement_id)
        return fresh_or_tagged(agreement_out(agreement), agreement.version, if_none_match)

    @patch(
        "/agreements/{agreement_id:uuid}",
        operation_id="updateConsignmentAgreement",
        description=(
            "The cooperative's `admin` changes the agreement's terms from now on; sales "
            "already made keep the commission they were made under. An ended agreement is"
            " 409 `consignment.agreement_not_active`."
        ),
        summary="Change the terms from now on (past sales keep their commission)",
        responses=conditional_write_responses(401, 403, 404, 409),
        response_headers=etag_header("the agreement as changed"),
    )
    async def update_agreement(
        self,
        agreement_id: FromPath[uuid.UUID],
        data: JSONBody[AgreementUpdate],
        uow: UoW,
        principal: Caller,
        if_match_header: IfMatchHeader = None,
    ) -> Response[AgreementOut]:
        precondition = if_match(if_match_header)
        agreement = await ConsignmentService(uow).update_agreement(
            principal, agreement_id, data, precondition
        )
        await uow.commit()
        return tagged(agreement_out(agreement), agreement.version)

    @post(
        "/agreements/{agreement_id:uuid}/end",
        operation_id="endConsignmentAgreement",
        description=(
            "The cooperative's `admin` ends the agreement: no new intakes are accepted, "
            "goods already placed still sell and are settled and paid out as before."
        ),
        summary="End the agreement: no new intakes; placed goods still sell and settle",
        status_code=200,
        responses=conditional_write_responses(401, 403, 404),
        response_headers=etag_header("the agreement as ended"),
    )
    async def end_agreement(
        self,
        agreement_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        if_match_header: IfMatchHeader = None,
    ) -> Response[AgreementOut]:
        precondition = if_match(if_match_header)
        agreement = await ConsignmentService(uow).end_agreement(
            principal, agreement_id, precondition
        )
        await uow.commit()
        return tagged(agreement_out(agreement), agreement.version)

    # --- intakes ---------------------------------------------------------------------

    @post(
        "/intakes",
        operation_id="createConsignmentIntake",
        description=(
            "A `seller` key of the consignor (UMKM) or of the cooperative proposes goods "
            "to place under an active agreement: one product, its quantity, the "
            "consignor's unit price and an optional expiry date. The intake starts "
            "`proposed`; the cooperative then confirms what it actually received, or "
            "rejects it. An agreement that has ended is 409 "
            "`consignment.agreement_not_active`."
        ),
        summary="The UMKM proposes goods to place (the cooperative records a receipt at once)",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def create_intake(
        self, data: JSONBody[IntakeCreate], uow: UoW, principal: Caller
    ) -> IntakeOut:
        intake = await ConsignmentService(uow).create_intake(principal, data)
        await uow.commit()
        return intake_out(intake)

    @get(
        "/intakes",
        operation_id="listConsignmentIntakes",
        description=(
            "The intakes (goods placed on consignment) your organization is a party to, "
            "newest first. `status` filters; `expired=true` lists goods past their expiry"
            " date that should be returned to the consignor."
        ),
        summary="Intakes your organization is a party to; `expired=true` lists goods to return",
        responses=problem_responses(401),
    )
    async def list_intakes(
        self,
        uow: UoW,
        principal: Caller,
        status: Annotated[IntakeStatus | None, Parameter()] = None,
        expired: Annotated[
            bool | None, Parameter(description="Flagged past expiry with goods still here")
        ] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> IntakePage:
        rows = await ConsignmentService(uow).intakes(
            principal,
            status=status,
            expired=expired,
            after=decode_id_cursor(cursor),
            limit=limit + 1,
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return IntakePage(
            items=[intake_out(i) for i in page],
            next_cursor=next_cursor,
        )

    @get(
        "/intakes/{intake_id:uuid}",
        operation_id="getConsignmentIntake",
        description=(
            "One intake with its lines and status. Visible to the cooperative, the "
            "consignor and the platform; otherwise 404."
        ),
        summary="One intake",
        responses=problem_responses(401, 404),
    )
    async def get_intake(
        self, intake_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> IntakeOut:
        return intake_out(await ConsignmentService(uow).intake(principal, intake_id))

    @post(
        "/intakes/{intake_id:uuid}/confirm",
        operation_id="confirmConsignmentIntake",
        description=(
            "The cooperative's `seller` key confirms physical receipt of a proposed "
            "intake, with the quantity actually received (it may be less than proposed); "
            "the consigned stock appears on the cooperative's listings. Receiving more "
            "than proposed is 422 `consignment.received_more_than_proposed`; an intake no"
            " longer proposed is 409 `consignment.intake_not_proposed`."
        ),
        summary="The cooperative confirms physical receipt; the consigned stock appears",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def confirm_intake(
        self,
        intake_id: FromPath[uuid.UUID],
        data: JSONBody[IntakeConfirm],
        uow: UoW,
        principal: Caller,
    ) -> IntakeOut:
        intake = await ConsignmentService(uow).confirm_intake(principal, intake_id, data)
        await uow.commit()
        return intake_out(intake)

    @post(
        "/intakes/{intake_id:uuid}/reject",
        operation_id="rejectConsignmentIntake",
        description=(
            "The cooperative's `seller` key refuses a proposed intake, with a reason the "
            "consignor sees. Nothing enters stock. An intake no longer proposed is 409 "
            "`consignment.intake_not_proposed`."
        ),
        summary="The cooperative refuses a proposed intake, with a reason",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def reject_intake(
        self,
        intake_id: FromPath[uuid.UUID],
        data: JSONBody[IntakeReject],
        uow: UoW,
        principal: Caller,
    ) -> IntakeOut:
        intake = await ConsignmentService(uow).reject_intake(principal, intake_id, data)
        await uow.commit()
        return intake_out(intake)

    # --- returns ---------------------------------------------------------------------

    @post(
        "/returns",
        operation_id="createConsignmentReturn",
        description=(
            "The cooperative's `seller` key hands unsold or expired consigned goods back "
            "to the consignor, naming one intake or one listing. Nothing becomes payable "
            "for returned units. Returning more than is in consigned stock is 422 "
            "`consignment.return_exceeds_stock`."
        ),
        summary="Hand unsold or expired goods back to the consignor (nothing becomes payable)",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def create_return(
        self, data: JSONBody[ReturnCreate], uow: UoW, principal: Caller
    ) -> ReturnOut:
        record = await ConsignmentService(uow).record_return(principal, data)
        await uow.commit()
        return return_out(record)
