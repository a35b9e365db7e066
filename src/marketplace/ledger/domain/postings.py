"""One builder per money event, each returning a balanced `JournalTransaction` (pure).

References are ``"<kind>:<domain id>"`` so posting the same event twice is recognisably the
same posting (see `same_posting`), while ids from different domains never collide.

Amounts are whole rupiah. Sale amounts (``gross``, ``subtotal``) exclude VAT; the buyer
owes them plus VAT. The principal amount of each event must be positive; optional parts
(VAT, commission, fees, withholding) may be zero, and zero parts are simply left out
because a zero entry carries no information.

When a sale is posted — at delivery (the buyer's goods receipt) — the buyer's receivable
rises; a payment received earlier has already made it negative (a prepayment), so the two
meet at zero whatever order they arrive in.
"""

from __future__ import annotations

import uuid

from marketplace.ledger.domain import (
    PLATFORM_HOLDER,
    AccountKey,
    AccountPurpose,
    Entry,
    InvalidPostingAmount,
    JournalTransaction,
    TransactionKind,
    validate_transaction,
)

_CASH = AccountKey(organization_id=PLATFORM_HOLDER, purpose=AccountPurpose.CASH)
_PAYMENT_FEES = AccountKey(organization_id=PLATFORM_HOLDER, purpose=AccountPurpose.PAYMENT_FEES)


def consignor_payable_account(consignor_org: uuid.UUID, cooperative_org: uuid.UUID) -> AccountKey:
    """The account whose balance must match the consignor's settlement statement."""
    return AccountKey(
        organization_id=consignor_org,
        purpose=AccountPurpose.CONSIGNOR_PAYABLE,
        counterparty_id=cooperative_org,
    )


def consignment_sale(
    sale_id: uuid.UUID,
    buyer_org: uuid.UUID,
    cooperative_org: uuid.UUID,
    consignor_org: uuid.UUID,
    gross: int,
    commission: int,
    vat: int,
) -> JournalTransaction:
    """A consignment leg delivered: the buyer owes gross + VAT; the consignor is owed the
    gross less commission; the cooperative earns the commission and, as seller of record,
    owes the VAT."""
    _positive("gross", gross)
    _within("commission", commission, gross)
    _non_negative("vat", vat)
    return _build(
        TransactionKind.CONSIGNMENT_SALE,
        sale_id,
        (_account(buyer_org, AccountPurpose.BUYER_RECEIVABLE), gross + vat),
        (consignor_payable_account(consignor_org, cooperative_org), -(gross - commission)),
        (_account(cooperative_org, AccountPurpose.COMMISSION_REVENUE), -commission),
        (_account(cooperative_org, AccountPurpose.VAT_PAYABLE), -vat),
    )


def consignment_adjustment(
    adjustment_id: uuid.UUID, cooperative_org: uuid.UUID, consignor_org: uuid.UUID, amount: int
) -> JournalTransaction:
    """A cooperative's signed correction of what it owes a consignor: positive raises the
    consignor's payable (the cooperative bears it), negative lowers it (the consignor owes
    it back, e.g. a buyer's refund on an item already settled)."""
    if amount == 0:
        raise InvalidPostingAmount("amount cannot be zero.", field="amount", value=amount)
    return _build(
        TransactionKind.CONSIGNMENT_ADJUSTMENT,
        adjustment_id,
        (_account(cooperative_org, AccountPurpose.CONSIGNMENT_ADJUSTMENTS), amount),
        (consignor_payable_account(consignor_org, cooperative_org), -amount),
    )


def stock_sale(
    leg_id: uuid.UUID, buyer_org: uuid.UUID, seller_org: uuid.UUID, gross: int, vat: int
) -> JournalTransaction:
    """A leg of the seller's own goods delivered — from its stock, from a Bulog lot it
    bought, or called off a trade contract; every kind but consignment — for what arrived
    (`gross` is the delivered quantity times the leg's price, `vat` the leg's VAT on it):
    the buyer owes gross + VAT (its purchase), the seller is owed the gross (its turnover)
    and holds the VAT as output tax to remit. A call-off's levy was already debited from
    the seller's payable when it shipped (`levy`). Reference ``stock_sale:<leg id>``."""
    _positive("gross", gross)
    _non_negative("vat", vat)
    return _build(
        TransactionKind.STOCK_SALE,
        leg_id,
        (_account(buyer_org, AccountPurpose.BUYER_RECEIVABLE), gross + vat),
        (_account(seller_org, AccountPurpose.SELLER_PAYABLE), -gross),
        (_account(seller_org, AccountPurpose.VAT_PAYABLE), -vat),
    )


def consignment_payout(
    payout_id: uuid.UUID, cooperative_org: uuid.UUID, consignor_org: uuid.UUID, amount: int
) -> JournalTransaction:
    """A settlement payout to a consignor leaves the platform's cash."""
    _positive("amount", amount)
    return _build(
        TransactionKind.CONSIGNMENT_PAYOUT,
        payout_id,
        (consignor_payable_account(consignor_org, cooperative_org), amount),
        (_CASH, -amount),
    )


def seller_payout(payout_id: uuid.UUID, seller_org: uuid.UUID, amount: int) -> JournalTransaction:
    """Paying a seller what it is owed for its own stock."""
    _positive("amount", amount)
    return _build(
        TransactionKind.SELLER_PAYOUT,
        payout_id,
        (_account(seller_org, AccountPurpose.SELLER_PAYABLE), amount),
        (_CASH, -amount),
    )


def payment_received(
    payment_id: uuid.UUID, buyer_org: uuid.UUID, amount: int, fee: int = 0
) -> JournalTransaction:
    """A buyer's payment clears `amount` of its receivable; the provider keeps `fee`, which
    the platform bears, so only ``amount - fee`` reaches cash."""
    _positive("amount", amount)
    _within("fee", fee, amount)
    return _build(
        TransactionKind.PAYMENT_RECEIVED,
        payment_id,
        (_CASH, amount - fee),
        (_PAYMENT_FEES, fee),
        (_account(buyer_org, AccountPurpose.BUYER_RECEIVABLE), -amount),
    )


def refund(refund_id: uuid.UUID, buyer_org: uuid.UUID, amount: int) -> JournalTransaction:
    """A refund granted: the buyer's credit moves to refunds payable until the provider
    confirms it (`refund_paid`). A failed refund is undone with `reversal`."""
    _positive("amount", amount)
    return _build(
        TransactionKind.REFUND,
        refund_id,
        (_account(buyer_org, AccountPurpose.BUYER_RECEIVABLE), amount),
        (_account(buyer_org, AccountPurpose.REFUNDS_PAYABLE), -amount),
    )


def refund_paid(refund_id: uuid.UUID, buyer_org: uuid.UUID, amount: int) -> JournalTransaction:
    """The provider confirmed the refund: the money leaves cash."""
    _positive("amount", amount)
    return _build(
        TransactionKind.REFUND_PAID,
        refund_id,
        (_account(buyer_org, AccountPurpose.REFUNDS_PAYABLE), amount),
        (_CASH, -amount),
    )


def levy(
    calloff_id: uuid.UUID, trade_center_org: uuid.UUID, supplier_org: uuid.UUID, amount: int
) -> JournalTransaction:
    """A trade-contract call-off's levy, taken from the supplier's proceeds and owed to the
    trade center."""
    _positive("amount", amount)
    return _build(
        TransactionKind.LEVY,
        calloff_id,
        (_account(supplier_org, AccountPurpose.SELLER_PAYABLE), amount),
        (_account(trade_center_org, AccountPurpose.LEVY_PAYABLE), -amount),
    )


def government_invoice(
    invoice_id: uuid.UUID,
    government_org: uuid.UUID,
    supplier_org: uuid.UUID,
    subtotal: int,
    vat: int,
    pph22: int,
) -> JournalTransaction:
    """A supplier's invoice to a government office. The treasury pays subtotal + VAT less
    the PPh 22 it withholds; the supplier is credited the subtotal and VAT and debited the
    withholding (its tax credit), so what it is finally paid is ``subtotal - pph22``.
    Government orders post this instead of `stock_sale`, never both."""
    _positive("subtotal", subtotal)
    _non_negative("vat", vat)
    _within("pph22", pph22, subtotal)
    return _build(
        TransactionKind.GOVERNMENT_INVOICE,
        invoice_id,
        (_account(government_org, AccountPurpose.BUYER_RECEIVABLE), subtotal + vat - pph22),
        (_account(supplier_org, AccountPurpose.PPH22_WITHHELD), pph22),
        (_account(supplier_org, AccountPurpose.SELLER_PAYABLE), -subtotal),
        (_account(supplier_org, AccountPurpose.VAT_PAYABLE), -vat),
    )


def reversal(original: JournalTransaction, memo: str = "") -> JournalTransaction:
    """The correction that cancels `original` exactly. Its reference is derived from the
    original's, so a transaction can be reversed once and a retried reversal is a replay."""
    validate_transaction(original)
    tx = JournalTransaction(
        reference=f"{TransactionKind.REVERSAL}:{original.reference}",
        kind=TransactionKind.REVERSAL,
        entries=tuple(
            Entry(account=entry.account, amount=-entry.amount) for entry in original.entries
        ),
        memo=memo or f"Reverses {original.reference}",
    )
    validate_transaction(tx)
    return tx


def _build(
    kind: TransactionKind, domain_id: uuid.UUID, *lines: tuple[AccountKey, int]
) -> JournalTransaction:
    tx = JournalTransaction(
        reference=f"{kind}:{domain_id}",
        kind=kind,
        entries=tuple(Entry(account=account, amount=amount) for account, amount in lines if amount),
    )
    validate_transaction(tx)
    return tx


def _account(organization_id: uuid.UUID, purpose: AccountPurpose) -> AccountKey:
    return AccountKey(organization_id=organization_id, purpose=purpose)


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise InvalidPostingAmount(f"{name} must be positive.", field=name, value=value)


def _non_negative(name: str, value: int) -> None:
    if value < 0:
        raise InvalidPostingAmount(f"{name} cannot be negative.", field=name, value=value)


def _within(name: str, value: int, limit: int) -> None:
    if not 0 <= value <= limit:
        raise InvalidPostingAmount(
            f"{name} must be between 0 and {limit}.", field=name, value=value, limit=limit
        )
