"""Consignment: UMKM goods placed at a cooperative, paid for when sold.

Owns agreements (commission in basis points, settlement cycle, payout bank account),
intakes (proposed by the UMKM, confirmed by the cooperative on physical receipt — only then
does stock exist, as a cooperative listing whose owner is the UMKM), sales recorded when a
consignment leg is delivered (`sales.on_leg_delivered`, an outbox handler: only the
delivered quantity sells, with the VAT its leg charged), returns of unsold or expired
goods, signed adjustments by the cooperative's finance, and settlement runs that produce a
statement and a payout per consignor (`settlement_service`).

Invariants: commission is fixed per sale at sale time; each sale, return and adjustment
is settled exactly once — every record takes a number from one sequence, a statement
covers the range ``(from_seq, to_seq]`` following the consignor's previous statement, and
the database refuses overlapping or non-contiguous ranges and any change to a statement or
a record (see `models`); recording and settling take the cooperative's advisory lock
shared and exclusive, so no number is in flight while a run picks its range
(`repository.settlement_lock_key`); statement totals are exact to the rupiah
(`settlement.build_statement` is the rule; the run computes it set-based in SQL, one
index-only range scan per consignor, writing nothing on the settled rows).
Talks to listings (`ListingService`: consigned stock), orders (`OrderService.leg_facts`),
accounts (`OrganizationDirectory`) and the ledger (`postings.consignment_sale`,
`postings.consignment_adjustment`, `postings.consignment_payout`).
"""

from marketplace.consignment.domain import AgreementStatus, IntakeStatus, PayoutStatus
from marketplace.consignment.position import ConsignmentPosition, CycleOutlook, Holding
from marketplace.consignment.schemas import (
    AgreementCreate,
    BankAccount,
    IntakeConfirm,
    IntakeCreate,
    IntakeReject,
    ReturnCreate,
)
from marketplace.consignment.service import ConsignmentService
from marketplace.consignment.settlement_service import SettlementService

__all__ = [
    "AgreementCreate",
    "AgreementStatus",
    "BankAccount",
    "ConsignmentPosition",
    "ConsignmentService",
    "CycleOutlook",
    "Holding",
    "IntakeConfirm",
    "IntakeCreate",
    "IntakeReject",
    "IntakeStatus",
    "PayoutStatus",
    "ReturnCreate",
    "SettlementService",
]
