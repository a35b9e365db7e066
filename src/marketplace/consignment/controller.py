"""HTTP endpoints of the consignment context."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from marketplace.answers import from_row
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
    adjustment_out,
    agreement_out,
    intake_out,
    payout_out,
    return_out,
    sale_out,
    statement_summary,
)
from marketplace.consignment.domain import IntakeStatus, PayoutStatus
from marketplace.consignment.schemas import (
    AdjustmentCreate,
    AdjustmentOut,
    AdjustmentPage,
    AgreementCreate,
    AgreementOut,
    AgreementPage,
    AgreementUpdate,
    IntakeConfirm,
    IntakeCreate,
    IntakeOut,
    IntakePage,
    IntakeReject,
    PayoutMarkPaid,
    PayoutOut,
    PayoutPage,
    ReturnCreate,
    ReturnOut,
    SettlementRunCreate,
    SettlementRunOut,
    StatementOut,
    StatementPage,
)
from marketplace.consignment.service import ConsignmentService
from marketplace.consignment.settlement_service import SettlementService
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


class ConsignmentController(Controller):
    path = "/v1/consignment"
    tags = ["consignment"]

    # --- agreements ------------------------------------------------------------------

    @post(
        "/agreements",
        operation_id="createConsignmentAgreement",
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
        summary="Hand unsold or expired goods back to the consignor (nothing becomes payable)",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def create_return(
        self, data: JSONBody[ReturnCreate], uow: UoW, principal: Caller
    ) -> ReturnOut:
        record = await ConsignmentService(uow).record_return(principal, data)
        await uow.commit()
        return return_out(record)

    # --- settlement ------------------------------------------------------------------

    @post(
        "/settlement-runs",
        operation_id="runConsignmentSettlement",
        summary="Settle every consignor's unsettled sales up to a cut-off (Idempotency-Key)",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def run_settlement(
        self,
        data: JSONBody[SettlementRunCreate],
        uow: UoW,
        principal: Caller,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[SettlementRunOut]:
        async def action() -> SettlementRunOut:
            service = SettlementService(uow)
            run = await service.run_for(principal, data.cutoff, data.cooperative_id)
            statements, payouts = await service.run_view(run)
            return from_row(
                SettlementRunOut,
                run,
                currency="IDR",
                statements=[statement_summary(s, payouts.get(s.id)) for s in statements],
            )

        return await run_idempotent(
            uow,
            organization_id=principal.organization_id,
            key=idempotency_key,
            operation="consignment.settle",
            request=data,
            response_type=SettlementRunOut,
            action=action,
        )

    @get(
        "/statements",
        operation_id="listConsignmentStatements",
        summary="Settlement statements, newest first (a consignor sees only its own)",
        responses=problem_responses(401),
    )
    async def list_statements(
        self,
        uow: UoW,
        principal: Caller,
        consignor_id: Annotated[uuid.UUID | None, Parameter()] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> StatementPage:
        rows, payouts = await SettlementService(uow).statements(
            principal, consignor_id=consignor_id, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return StatementPage(
            items=[statement_summary(s, payouts.get(s.id)) for s in page],
            next_cursor=next_cursor,
        )

    @get(
        "/statements/{statement_id:uuid}",
        operation_id="getConsignmentStatement",
        summary="One statement with what sold and what was returned",
        responses=problem_responses(401, 404),
    )
    async def get_statement(
        self, statement_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> StatementOut:
        statement, payout, sales, returns, adjustments = await SettlementService(uow).statement(
            principal, statement_id
        )
        return StatementOut(
            statement=statement_summary(statement, payout),
            sales=[sale_out(s) for s in sales],
            returns=[return_out(r) for r in returns],
            adjustments=[adjustment_out(a, statement.id) for a in adjustments],
        )

    # --- adjustments -------------------------------------------------------------------

    @post(
        "/adjustments",
        operation_id="createConsignmentAdjustment",
        summary="The cooperative's finance corrects what a consignor is owed (signed rupiah; "
        "Idempotency-Key); settled by the next statement",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def create_adjustment(
        self,
        data: JSONBody[AdjustmentCreate],
        uow: UoW,
        principal: Caller,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[AdjustmentOut]:
        async def action() -> AdjustmentOut:
            adjustment = await SettlementService(uow).record_adjustment(principal, data)
            return adjustment_out(adjustment, None)

        return await run_idempotent(
            uow,
            organization_id=principal.organization_id,
            key=idempotency_key,
            operation="consignment.adjust",
            request=data,
            response_type=AdjustmentOut,
            action=action,
        )

    @get(
        "/adjustments",
        operation_id="listConsignmentAdjustments",
        summary="Adjustments, newest first, with the statement that settled each "
        "(a consignor sees only its own)",
        responses=problem_responses(401),
    )
    async def list_adjustments(
        self,
        uow: UoW,
        principal: Caller,
        consignor_id: Annotated[uuid.UUID | None, Parameter()] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> AdjustmentPage:
        rows = await SettlementService(uow).adjustments(
            principal, consignor_id=consignor_id, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r[0].id])
        return AdjustmentPage(
            items=[adjustment_out(a, statement_id) for a, statement_id in page],
            next_cursor=next_cursor,
        )

    @get(
        "/adjustments/{adjustment_id:uuid}",
        operation_id="getConsignmentAdjustment",
        summary="One adjustment, with the statement that settled it",
        responses=problem_responses(401, 404),
    )
    async def get_adjustment(
        self, adjustment_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> AdjustmentOut:
        adjustment, statement_id = await SettlementService(uow).adjustment(principal, adjustment_id)
        return adjustment_out(adjustment, statement_id)

    # --- payouts ---------------------------------------------------------------------

    @get(
        "/payouts",
        operation_id="listConsignmentPayouts",
        summary="Payouts your organization pays or receives",
        responses=problem_responses(401),
    )
    async def list_payouts(
        self,
        uow: UoW,
        principal: Caller,
        status: Annotated[PayoutStatus | None, Parameter()] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> PayoutPage:
        rows = await SettlementService(uow).payouts(
            principal, status=status, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return PayoutPage(
            items=[payout_out(p) for p in page],
            next_cursor=next_cursor,
        )

    @get(
        "/payouts/{payout_id:uuid}",
        operation_id="getConsignmentPayout",
        summary="One payout",
        responses=problem_responses(401, 404),
    )
    async def get_payout(
        self, payout_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> PayoutOut:
        return payout_out(await SettlementService(uow).payout(principal, payout_id))

    @post(
        "/payouts/{payout_id:uuid}/mark-paid",
        operation_id="markConsignmentPayoutPaid",
        summary="The cooperative's finance records the bank transfer; posted to the ledger",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def mark_paid(
        self,
        payout_id: FromPath[uuid.UUID],
        data: JSONBody[PayoutMarkPaid],
        uow: UoW,
        principal: Caller,
    ) -> PayoutOut:
        payout = await SettlementService(uow).mark_paid(principal, payout_id, data.bank_reference)
        await uow.commit()
        return payout_out(payout)
