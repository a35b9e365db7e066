"""HTTP endpoints of the ledger context: read-only views of the books."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

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
from marketplace.ledger.domain import REFERENCE_MAX_LENGTH
from marketplace.ledger.schemas import (
    AccountBalanceOut,
    EntryOut,
    LedgerBalancesOut,
    LedgerTransactionOut,
    LedgerTransactionPage,
)
from marketplace.ledger.service import LedgerService, PostedTransaction

OrganizationFilter = Annotated[
    uuid.UUID | None,
    Parameter(
        description="Whose books. Default: your organization's (for the platform: on "
        "balances its own accounts, on transactions every organization's)."
    ),
]
Reference = Annotated[
    str | None,
    Parameter(
        description="Only the transaction with this reference (`<kind>:<domain id>`)",
        min_length=1,
        max_length=REFERENCE_MAX_LENGTH,
    ),
]


def transaction_out(t: PostedTransaction) -> LedgerTransactionOut:
    return from_row(
        LedgerTransactionOut,
        t,
        entries=[from_row(EntryOut, e.account, amount=e.amount, currency="IDR") for e in t.entries],
    )


class LedgerController(Controller):
    path = "/v1/ledger"
    tags = ["ledger"]

    @get(
        "/balances",
        operation_id="getLedgerBalances",
        description=(
            "The balance of each ledger account of an organization (cash, receivables, "
            "payables, VAT...), in rupiah. Needs a `finance` key (or `admin`) of that "
            "organization, or the platform. Another organization is 404."
        ),
        summary="Account balances of an organization (its finance/admin keys, or the platform)",
        responses=problem_responses(401, 403, 404),
    )
    async def balances(
        self, uow: UoW, principal: Caller, organization_id: OrganizationFilter = None
    ) -> LedgerBalancesOut:
        holder, balances = await LedgerService(uow).balances_for(principal, organization_id)
        return LedgerBalancesOut(
            organization_id=holder,
            accounts=[from_row(AccountBalanceOut, b, currency="IDR") for b in balances],
        )

    @get(
        "/transactions",
        operation_id="listLedgerTransactions",
        description=(
            "Journal transactions in posting order, each with its balanced entries; an "
            "organization sees its own entries only. Needs a `finance` key (or `admin`). "
            "Paginated with `limit` and `cursor`."
        ),
        summary="Journal transactions in posting order (an organization sees its own entries)",
        responses=problem_responses(401, 403, 404),
    )
    async def transactions(
        self,
        uow: UoW,
        principal: Caller,
        reference: Reference = None,
        organization_id: OrganizationFilter = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> LedgerTransactionPage:
        rows = await LedgerService(uow).transactions_for(
            principal,
            reference=reference,
            organization_id=organization_id,
            after=decode_id_cursor(cursor),
            limit=limit + 1,
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return LedgerTransactionPage(
            items=[transaction_out(t) for t in page],
            next_cursor=next_cursor,
        )
