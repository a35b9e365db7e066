"""HTTP endpoints of the consignment context."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from marketplace.answers import from_row
from marketplace.consignment.domain import IntakeStatus, PayoutStatus
from marketplace.consignment.models import (
    Adjustment,
    Agreement,
    Intake,
    Payout,
    Return,
    Sale,
    Statement,
)
from marketplace.consignment.schemas import (
    AdjustmentCreate,
    AdjustmentOut,
    AdjustmentPage,
    AgreementCreate,
    AgreementOut,
    AgreementPage,
    AgreementUpdate,
    BankAccountOut,
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
    SaleLineOut,
    SettlementRunCreate,
    SettlementRunOut,
    StatementOut,
    StatementPage,
    StatementSummary,
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


def payout_account_out(row: Agreement | Payout) -> BankAccountOut:
    """The bank account a row names (its `bank_*` columns)."""
    return BankAccountOut(
        bank_name=row.bank_name,
        account_number=row.bank_account_number,
        account_holder=row.bank_account_holder,
    )


def agreement_out(a: Agreement) -> AgreementOut:
    return from_row(AgreementOut, a, payout_account=payout_account_out(a))


def intake_out(i: Intake) -> IntakeOut:
    return from_row(IntakeOut, i, currency="IDR")


def return_out(r: Return) -> ReturnOut:
    return from_row(ReturnOut, r)


def statement_summary(s: Statement, payout: Payout | None) -> StatementSummary:
    return from_row(
        StatementSummary,
        s,
        currency="IDR",
        payout_id=payout.id if payout else None,
        payout_status=payout.status if payout else None,
    )


def sale_out(s: Sale) -> SaleLineOut:
    return from_row(SaleLineOut, s, net_amount=s.gross_amount - s.commission_amount, currency="IDR")


def adjustment_out(a: Adjustment, statement_id: uuid.UUID | None) -> AdjustmentOut:
    return from_row(AdjustmentOut, a, currency="IDR", statement_id=statement_id)


def payout_out(p: Payout) -> PayoutOut:
    return from_row(PayoutOut, p, currency="IDR", payout_account=payout_account_out(p))


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
        responses=problem_responses(401, 404),
    )
    async def get_agreement(
        self, agreement_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> AgreementOut:
        return agreement_out(await ConsignmentService(uow).agreement(principal, agreement_id))

    @patch(
        "/agreements/{agreement_id:uuid}",
        operation_id="updateConsignmentAgreement",
        description=(
            "The cooperative's `admin` changes the agreement's terms from now on; sales "
            "already made keep the commission they were made under. An ended agreement is"
            " 409 `consignment.agreement_not_active`."
        ),
        summary="Change the terms from now on (past sales keep their commission)",
        responses=problem_responses(401, 403, 404, 409),
    )
    async def update_agreement(
        self,
        agreement_id: FromPath[uuid.UUID],
        data: JSONBody[AgreementUpdate],
        uow: UoW,
        principal: Caller,
    ) -> AgreementOut:
        agreement = await ConsignmentService(uow).update_agreement(principal, agreement_id, data)
        await uow.commit()
        return agreement_out(agreement)

    @post(
        "/agreements/{agreement_id:uuid}/end",
        operation_id="endConsignmentAgreement",
        description=(
            "The cooperative's `admin` ends the agreement: no new intakes are accepted, "
            "goods already placed still sell and are settled and paid out as before."
        ),
        summary="End the agreement: no new intakes; placed goods still sell and settle",
        status_code=200,
        responses=problem_responses(401, 403, 404),
    )
    async def end_agreement(
        self, agreement_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> AgreementOut:
        agreement = await ConsignmentService(uow).end_agreement(principal, agreement_id)
        await uow.commit()
        return agreement_out(agreement)

    # --- intakes ---------------------------------------------------------------------

    @post(
        "/intakes",
        operation_id="createConsignmentIntake",
        description=(
            "A consignor's `seller` key proposes goods to place at the cooperative under "
            "an active agreement: one product, its quantity, the consignor's unit price "
            "and an optional expiry date. The cooperative then confirms or rejects it; a "
            "cooperative key recording the intake itself confirms it at once. An "
            "agreement that is not active is 409 `consignment.agreement_not_active`."
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

    # --- settlement ------------------------------------------------------------------

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
