"""Consignment settlement maths (pure).

A consignor's *balance* with a cooperative is what the cooperative owes it: positive means
money is due to the UMKM, negative means the UMKM owes (e.g. a refund to a buyer after the
sale was already paid out). A statement starts from the balance carried over, adds the net
of sales before the cut-off and any signed adjustments, pays out what is due, and carries
the rest over.

Commission is fixed per sale when the sale happens (`commission_for`) and stored on the
sale. A statement only adds stored amounts up, never recomputes them, so changing an
agreement's rate never changes what past sales owe and totals are exact to the rupiah.

Returns hand unsold or expired goods back to the consignor. They move goods, not money:
they appear on the statement (count, quantity, ids) but change nothing payable. Money
taken back from the consignor — a buyer's refund on a sold item, a correction — is an
`Adjustment` with a negative amount.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec

from marketplace.errors import ValidationFailed
from marketplace.money import BASIS_POINTS_PER_UNIT, apply_basis_points


class SaleRecord(msgspec.Struct, frozen=True, kw_only=True):
    sale_id: uuid.UUID
    consignor_id: uuid.UUID
    gross_amount: int
    commission_amount: int
    sold_at: datetime

    @property
    def net_amount(self) -> int:
        return self.gross_amount - self.commission_amount


class ReturnRecord(msgspec.Struct, frozen=True, kw_only=True):
    return_id: uuid.UUID
    consignor_id: uuid.UUID
    quantity: int
    returned_at: datetime
    reason: str = ""


class Adjustment(msgspec.Struct, frozen=True, kw_only=True):
    """A signed money correction: positive is owed to the consignor, negative is owed by it."""

    adjustment_id: uuid.UUID
    amount: int
    reason: str


class Statement(msgspec.Struct, frozen=True, kw_only=True):
    """One consignor's settlement statement.

    ``opening_balance + net_sales + adjustments_total == payout_due + closing_balance``.
    ``payout_due`` is never negative, and whenever something is paid out, everything is paid
    out (``closing_balance == 0``). A negative closing balance is a debt carried to the next
    statement; a positive one only happens below `minimum_payout`.
    """

    consignor_id: uuid.UUID
    cutoff: datetime
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
    sale_ids: tuple[uuid.UUID, ...]
    return_ids: tuple[uuid.UUID, ...]
    adjustment_ids: tuple[uuid.UUID, ...]


class InvalidCommission(ValidationFailed):
    code = "consignment.invalid_commission"
    title = "The commission rate or amount is not valid"


class InvalidSettlementRecord(ValidationFailed):
    code = "consignment.invalid_record"
    title = "A sale, return or adjustment is not valid"


class ForeignSettlementRecord(ValidationFailed):
    code = "consignment.foreign_record"
    title = "A record belongs to a different consignor"


class DuplicateSettlementRecord(ValidationFailed):
    code = "consignment.duplicate_record"
    title = "A record appears more than once"


def commission_for(gross: int, commission_bps: int) -> int:
    """The cooperative's commission on one sale, rounded down to the whole rupiah.

    Rounding down favours the consignor on purpose: the UMKM is the smaller party and the
    agreed rate is a ceiling, so the cooperative never takes more than the rate it signed
    for — not even a fraction of a rupiah per sale, which over thousands of small sales
    would otherwise add up against the micro business.
    """
    if gross < 0:
        raise InvalidCommission("A sale's gross amount cannot be negative.", gross=gross)
    if not 0 <= commission_bps <= BASIS_POINTS_PER_UNIT:
        raise InvalidCommission(
            "The commission must be between 0 and 10000 basis points.",
            commission_bps=commission_bps,
        )
    return apply_basis_points(gross, commission_bps)


def build_statement(
    consignor_id: uuid.UUID,
    opening_balance: int,
    sales: Sequence[SaleRecord],
    returns: Sequence[ReturnRecord],
    adjustments: Sequence[Adjustment],
    cutoff: datetime,
    *,
    minimum_payout: int = 0,
) -> Statement:
    """Settle one consignor up to `cutoff`.

    Sales and returns strictly before `cutoff` are included; later ones are left out (and
    not listed) so they fall into the next period — periods are half-open, so a record on
    the boundary is settled exactly once. All adjustments given are included. Records of
    another consignor, or listed twice, are refused rather than skipped: they point at a
    bug in whoever selected them.

    ``payout_due`` is the whole available amount when it is positive and at least
    `minimum_payout` (to avoid bank transfers that cost more than they carry); otherwise
    nothing is paid and the balance carries over.
    """
    _require_aware("cutoff", cutoff)
    if minimum_payout < 0:
        raise InvalidSettlementRecord(
            "The minimum payout cannot be negative.", minimum_payout=minimum_payout
        )
    _check_sales(consignor_id, sales)
    _check_returns(consignor_id, returns)
    _check_adjustments(adjustments)

    included_sales = sorted(
        (sale for sale in sales if sale.sold_at < cutoff),
        key=lambda sale: (sale.sold_at, sale.sale_id),
    )
    included_returns = sorted(
        (record for record in returns if record.returned_at < cutoff),
        key=lambda record: (record.returned_at, record.return_id),
    )
    gross_sales = sum(sale.gross_amount for sale in included_sales)
    commission = sum(sale.commission_amount for sale in included_sales)
    net_sales = gross_sales - commission
    adjustments_total = sum(adjustment.amount for adjustment in adjustments)

    available = opening_balance + net_sales + adjustments_total
    payout_due = available if available > 0 and available >= minimum_payout else 0
    return Statement(
        consignor_id=consignor_id,
        cutoff=cutoff,
        opening_balance=opening_balance,
        sales_count=len(included_sales),
        gross_sales=gross_sales,
        commission=commission,
        net_sales=net_sales,
        returns_count=len(included_returns),
        returns_quantity=sum(record.quantity for record in included_returns),
        adjustments_total=adjustments_total,
        payout_due=payout_due,
        closing_balance=available - payout_due,
        sale_ids=tuple(sale.sale_id for sale in included_sales),
        return_ids=tuple(record.return_id for record in included_returns),
        adjustment_ids=tuple(adjustment.adjustment_id for adjustment in adjustments),
    )


def _check_sales(consignor_id: uuid.UUID, sales: Sequence[SaleRecord]) -> None:
    seen: set[uuid.UUID] = set()
    for sale in sales:
        _check_owner(consignor_id, sale.consignor_id, sale.sale_id)
        _check_new(seen, sale.sale_id)
        _require_aware("sold_at", sale.sold_at)
        if sale.gross_amount < 0 or not 0 <= sale.commission_amount <= sale.gross_amount:
            raise InvalidSettlementRecord(
                "A sale needs a non-negative gross and a commission between 0 and the gross.",
                record_id=str(sale.sale_id),
                gross_amount=sale.gross_amount,
                commission_amount=sale.commission_amount,
            )


def _check_returns(consignor_id: uuid.UUID, returns: Sequence[ReturnRecord]) -> None:
    seen: set[uuid.UUID] = set()
    for record in returns:
        _check_owner(consignor_id, record.consignor_id, record.return_id)
        _check_new(seen, record.return_id)
        _require_aware("returned_at", record.returned_at)
        if record.quantity <= 0:
            raise InvalidSettlementRecord(
                "A return needs a positive quantity.",
                record_id=str(record.return_id),
                quantity=record.quantity,
            )


def _check_adjustments(adjustments: Sequence[Adjustment]) -> None:
    seen: set[uuid.UUID] = set()
    for adjustment in adjustments:
        _check_new(seen, adjustment.adjustment_id)
        if adjustment.amount == 0 or not adjustment.reason.strip():
            raise InvalidSettlementRecord(
                "An adjustment needs a non-zero amount and a reason.",
                record_id=str(adjustment.adjustment_id),
                amount=adjustment.amount,
            )


def _check_owner(consignor_id: uuid.UUID, owner_id: uuid.UUID, record_id: uuid.UUID) -> None:
    if owner_id != consignor_id:
        raise ForeignSettlementRecord(
            "The record belongs to another consignor.",
            record_id=str(record_id),
            consignor_id=str(consignor_id),
            record_consignor_id=str(owner_id),
        )


def _check_new(seen: set[uuid.UUID], record_id: uuid.UUID) -> None:
    if record_id in seen:
        raise DuplicateSettlementRecord(
            "The record is listed more than once.", record_id=str(record_id)
        )
    seen.add(record_id)


def _require_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidSettlementRecord(f"{name} must carry a time zone.", field=name)
