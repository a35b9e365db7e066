"""HTTP request/response shapes of the consignment context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from marketplace.consignment.domain import (
    MAX_COMMISSION_BPS,
    AgreementStatus,
    IntakeStatus,
    PayoutStatus,
)
from marketplace.dates import BoundedDates, BusinessDate, Instant

Currency = Literal["IDR"]
Rupiah = Annotated[int, msgspec.Meta(gt=0, le=10_000_000_000, description="Integer rupiah")]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]
CommissionBps = Annotated[
    int,
    msgspec.Meta(
        ge=0, le=MAX_COMMISSION_BPS, description="Commission in basis points (1000 = 10%)"
    ),
]
CycleDays = Annotated[int, msgspec.Meta(ge=1, le=366, description="Settlement cycle in days")]
SignedRupiah = Annotated[
    int,
    msgspec.Meta(
        ge=-10_000_000_000,
        le=10_000_000_000,
        description="Signed integer rupiah, not zero: positive is owed to the consignor",
    ),
]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=r"\S")]


class BankAccount(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    bank_name: Annotated[str, msgspec.Meta(min_length=2, max_length=100, pattern=r"\S")]
    account_number: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6,20}$")]
    account_holder: Text200


class AgreementCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    consignor_id: uuid.UUID
    commission_bps: CommissionBps
    settlement_cycle_days: CycleDays
    payout_account: BankAccount
    cooperative_id: uuid.UUID | None = None
    """Only for a platform administrator acting for a cooperative."""


class AgreementUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Changes apply to sales from now on; past sales keep their commission."""

    commission_bps: CommissionBps | msgspec.UnsetType = msgspec.UNSET
    settlement_cycle_days: CycleDays | msgspec.UnsetType = msgspec.UNSET
    payout_account: BankAccount | msgspec.UnsetType = msgspec.UNSET


class BankAccountOut(msgspec.Struct, kw_only=True):
    bank_name: str
    account_number: str
    account_holder: str


class AgreementOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    cooperative_id: uuid.UUID
    consignor_id: uuid.UUID
    commission_bps: int
    settlement_cycle_days: int
    payout_account: BankAccountOut
    status: AgreementStatus
    created_at: dt.datetime
    ended_at: dt.datetime | None
    last_settled_at: dt.datetime | None


class AgreementPage(msgspec.Struct, kw_only=True):
    items: list[AgreementOut]
    next_cursor: str | None


class IntakeCreate(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    """Proposed by the consignor; recorded (confirmed at once) when the cooperative sends it."""

    agreement_id: uuid.UUID
    product_id: uuid.UUID
    quantity: Quantity
    unit_price: Rupiah
    expiry_date: BusinessDate | None = None


class IntakeConfirm(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    received_quantity: Quantity


class IntakeReject(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason


class IntakeOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    agreement_id: uuid.UUID
    cooperative_id: uuid.UUID
    consignor_id: uuid.UUID
    product_id: uuid.UUID
    listing_id: uuid.UUID | None
    proposed_quantity: int
    received_quantity: int | None
    returned_quantity: int
    unit_price: int
    currency: Currency
    expiry_date: dt.date | None
    status: IntakeStatus
    reject_reason: str | None
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    expired_flagged_at: dt.datetime | None


class IntakePage(msgspec.Struct, kw_only=True):
    items: list[IntakeOut]
    next_cursor: str | None


class ReturnCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Give goods back: name the intake (preferred) or the consigned listing."""

    quantity: Quantity
    reason: Reason
    intake_id: uuid.UUID | None = None
    listing_id: uuid.UUID | None = None


class ReturnOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    agreement_id: uuid.UUID
    cooperative_id: uuid.UUID
    consignor_id: uuid.UUID
    listing_id: uuid.UUID
    intake_id: uuid.UUID | None
    quantity: int
    reason: str
    returned_at: dt.datetime


class SettlementRunCreate(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    cutoff: Instant
    cooperative_id: uuid.UUID | None = None
    """Only for a platform administrator acting for a cooperative."""


class StatementSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    run_id: uuid.UUID
    cooperative_id: uuid.UUID
    consignor_id: uuid.UUID
    agreement_id: uuid.UUID | None
    cutoff: dt.datetime
    opening_balance: int
    sales_count: int
    gross_sales: int
    commission: int
    net_sales: int
    returns_count: int
    returns_quantity: int
    adjustments_total: int
    payout_due: int
    closing_balance: int
    currency: Currency
    payout_id: uuid.UUID | None
    payout_status: PayoutStatus | None
    created_at: dt.datetime


class SettlementRunOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    cooperative_id: uuid.UUID
    cutoff: dt.datetime
    statements_count: int
    sales_count: int
    payout_total: int
    currency: Currency
    statements: list[StatementSummary]
    created_at: dt.datetime


class SaleLineOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    order_id: uuid.UUID
    leg_id: uuid.UUID
    product_id: uuid.UUID
    quantity: int
    unit_price: int
    gross_amount: int
    commission_bps: int
    commission_amount: int
    net_amount: int
    currency: Currency
    sold_at: dt.datetime


class AdjustmentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A signed money correction for a consignor, settled by its next statement."""

    consignor_id: uuid.UUID
    amount: SignedRupiah
    reason: Reason
    cooperative_id: uuid.UUID | None = None
    """Only for a platform administrator acting for a cooperative."""


class AdjustmentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    agreement_id: uuid.UUID
    cooperative_id: uuid.UUID
    consignor_id: uuid.UUID
    amount: int
    currency: Currency
    reason: str
    created_at: dt.datetime
    statement_id: uuid.UUID | None
    """The statement that settled it; null until the next settlement run."""


class AdjustmentPage(msgspec.Struct, kw_only=True):
    items: list[AdjustmentOut]
    next_cursor: str | None


class StatementOut(msgspec.Struct, kw_only=True):
    statement: StatementSummary
    sales: list[SaleLineOut]
    returns: list[ReturnOut]
    adjustments: list[AdjustmentOut]


class StatementPage(msgspec.Struct, kw_only=True):
    items: list[StatementSummary]
    next_cursor: str | None


class PayoutMarkPaid(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    bank_reference: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]


class PayoutOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    statement_id: uuid.UUID
    cooperative_id: uuid.UUID
    consignor_id: uuid.UUID
    amount: int
    currency: Currency
    status: PayoutStatus
    payout_account: BankAccountOut
    bank_reference: str | None
    paid_at: dt.datetime | None
    created_at: dt.datetime


class PayoutPage(msgspec.Struct, kw_only=True):
    items: list[PayoutOut]
    next_cursor: str | None


class FlagExpiredOut(msgspec.Struct, kw_only=True):
    flagged: int
