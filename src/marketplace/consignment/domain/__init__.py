"""Consignment states and errors (pure)."""

from __future__ import annotations

import enum

from marketplace.errors import Conflict, ValidationFailed

MAX_COMMISSION_BPS = 5_000


class AgreementStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class IntakeStatus(enum.StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class PayoutStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"


class AgreementExists(Conflict):
    code = "consignment.agreement_exists"
    title = "An active agreement with this consignor exists"


class AgreementNotActive(Conflict):
    code = "consignment.agreement_not_active"
    title = "The agreement has ended"


class NotAConsignor(ValidationFailed):
    code = "consignment.not_a_consignor"
    title = "Only a UMKM organization can consign goods"


class IntakeNotProposed(Conflict):
    code = "consignment.intake_not_proposed"
    title = "Only a proposed intake can be confirmed or rejected"


class ReceivedMoreThanProposed(ValidationFailed):
    code = "consignment.received_more_than_proposed"
    title = "More goods received than proposed"


class ReturnTooLarge(ValidationFailed):
    code = "consignment.return_exceeds_stock"
    title = "The return exceeds the consigned stock that is free"


class PayoutAlreadyPaid(Conflict):
    code = "consignment.payout_already_paid"
    title = "The payout was already marked paid"


class CutoffInFuture(ValidationFailed):
    code = "consignment.cutoff_in_future"
    title = "A settlement cut-off cannot be in the future"


class SettlementMismatch(Conflict):
    """The claimed rows disagree with the statements: roll back and retry."""

    code = "consignment.settlement_mismatch"
    title = "The settlement run raced another one; retry"


class ZeroAdjustment(ValidationFailed):
    code = "consignment.zero_adjustment"
    title = "An adjustment needs a non-zero amount"
