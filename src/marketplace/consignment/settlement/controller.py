"""HTTP endpoints of consignment settlement: settlement runs, statements, adjustments and
the payouts to consignors (`marketplace.consignment.settlement_service`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, Parameter

from marketplace.answers import from_row
from marketplace.consignment.answers import (
    adjustment_out,
    payout_out,
    statement_summary,
)
from marketplace.consignment.domain import PayoutStatus
from marketplace.consignment.schemas import (
    AdjustmentCreate,
    AdjustmentOut,
    AdjustmentPage,
    PayoutMarkPaid,
    PayoutOut,
    PayoutPage,
    SettlementRunCreate,
    SettlementRunOut,
    StatementOut,
    StatementPage,
)
from marketplace.consignment.settlement_service import SettlementService
from marketplace.consignment.statement_read_service import StatementReadService
from marketplace.dependencies import READ_POOL, Caller, UoW, read_pool
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_id_cursor,
    paginate,
    problem_responses,
)
from marketplace.idempotency import IdempotencyKeyHeader, run_idempotent


class ConsignmentSettlementController(Controller):
    path = "/v1/consignment"
    tags = ["consignment"]

    @post(
        "/settlement-runs",
        operation_id="runConsignmentSettlement",
        description=(
            "A cooperative's `finance` key settles every consignor's unsettled "
            "consignment sales and adjustments up to a cut-off: one statement and one "
            "payout per consignor, posted to the ledger. Requires an `Idempotency-Key`. A"
            " cut-off in the future is 422 `consignment.cutoff_in_future`; a platform "
            "admin names the cooperative."
        ),
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
        description=(
            "Settlement statements, newest first. A cooperative sees all of its own "
            "(`consignor_id` filters); a consignor only its own."
        ),
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
        description=(
            "One settlement statement: each sale settled (gross, commission, net), each "
            "return and adjustment, and the payout. The PDF is at `.../document.pdf`."
        ),
        summary="One statement with what sold and what was returned",
        dependencies=READ_POOL,
        responses=problem_responses(401, 404),
    )
    async def get_statement(
        self, statement_id: FromPath[uuid.UUID], state: State, principal: Caller
    ) -> StatementOut:
        return await StatementReadService(read_pool(state)).view(principal, statement_id)

    # --- adjustments -------------------------------------------------------------------

    @post(
        "/adjustments",
        operation_id="createConsignmentAdjustment",
        description=(
            "A cooperative's `finance` key (or `admin`) corrects what a consignor is owed"
            " by a signed rupiah amount, e.g. damaged goods (negative) or a price "
            "correction (positive); the next settlement statement settles it. Requires an"
            " `Idempotency-Key`. A zero amount is 422 `consignment.zero_adjustment`; a "
            "consignor without an agreement with the cooperative is 422 "
            "`consignment.not_a_consignor`."
        ),
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
        description=(
            "The consignment adjustments your organization is a party to, newest first, "
            "each with the statement that settled it (or none yet). A cooperative sees "
            "all of its own (`consignor_id` filters); a consignor only its own; the "
            "platform all."
        ),
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
        description=(
            "One consignment adjustment, with the statement that settled it once settled."
            " Visible to the cooperative, the consignor and the platform; otherwise 404."
        ),
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
        description=(
            "Consignment payouts your organization pays (a cooperative) or receives (a "
            "consignor), newest first; `status` filters unpaid or paid ones."
        ),
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
        description=(
            "One payout: the amount owed to the consignor by one statement, the bank "
            "account to pay, and the bank reference once paid."
        ),
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
        description=(
            "The cooperative's `finance` key records the bank transfer of a payout (its "
            "reference); the payment is posted to the ledger (the consignor payable out "
            "of cash). Repeating it with the same reference is a no-op; another reference"
            " for a paid payout is 409 `consignment.payout_already_paid`."
        ),
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
