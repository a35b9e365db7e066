"""The consignment API's answers, built from its rows (the controller's `*Out` values)."""

from __future__ import annotations

import uuid

from marketplace.answers import from_row
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
    AdjustmentOut,
    AgreementOut,
    BankAccountOut,
    IntakeOut,
    PayoutOut,
    ReturnOut,
    SaleLineOut,
    StatementSummary,
)


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
