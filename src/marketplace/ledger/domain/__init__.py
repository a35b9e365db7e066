"""Double-entry ledger values and rules (pure).

Sign convention: an `Entry` amount is **positive for a debit, negative for a credit**, so a
balanced transaction's amounts sum to exactly zero and an account's balance is the plain
sum of its entries. Asset-like accounts (cash, receivables, tax withheld) normally carry a
positive balance; liability- and revenue-like accounts (payables, commission revenue) a
negative one. A negative ``buyer_receivable`` is a buyer's prepayment or credit.

The books are the platform's view of the money it handles, kept as one sub-ledger per
organization: an `AccountKey` names the organization the account belongs to and its
purpose. The platform's own accounts (cash clearing, payment fees) belong to
`PLATFORM_HOLDER`. ``consignor_payable`` also names the cooperative as `counterparty_id`,
because a UMKM consigning at two cooperatives is settled per agreement and each balance
must match its own statement.
"""

from __future__ import annotations

import enum
import uuid
from collections import defaultdict
from collections.abc import Iterable

import msgspec

from marketplace.errors import Conflict, ValidationFailed

PLATFORM_HOLDER = uuid.UUID(int=0)
"""The holder of the platform's own accounts (cash clearing, payment fees)."""

REFERENCE_MAX_LENGTH = 255
"""The longest reference the ledger stores."""


class AccountPurpose(enum.StrEnum):
    CASH = "cash"
    """Platform clearing: money held at the bank or payment provider."""
    BUYER_RECEIVABLE = "buyer_receivable"
    """What a buyer owes (negative: the buyer has paid in advance)."""
    SELLER_PAYABLE = "seller_payable"
    """What is owed to a seller or supplier for its own stock, net of levies."""
    CONSIGNOR_PAYABLE = "consignor_payable"
    """What is owed to a UMKM consignor for consigned goods sold, net of commission."""
    COMMISSION_REVENUE = "commission_revenue"
    """A cooperative's consignment commission, held for it."""
    VAT_PAYABLE = "vat_payable"
    """PPN collected on a seller's behalf, to be remitted by that seller."""
    PPH22_WITHHELD = "pph22_withheld"
    """PPh 22 a government treasurer withheld from a supplier: a tax credit of the supplier
    that reduces what it is paid."""
    LEVY_PAYABLE = "levy_payable"
    """Trade-contract levy (retribusi) owed to a trade center for regional revenue."""
    PAYMENT_FEES = "payment_fees"
    """Payment provider fees, an expense of the platform."""
    REFUNDS_PAYABLE = "refunds_payable"
    """Refunds granted to a buyer and not yet paid out by the provider."""
    CONSIGNMENT_ADJUSTMENTS = "consignment_adjustments"
    """A cooperative's corrections of what it owes its consignors: debited when it owes
    a consignor more, credited when a consignor owes it (e.g. a refund on a sold item)."""


class TransactionKind(enum.StrEnum):
    CONSIGNMENT_SALE = "consignment_sale"
    STOCK_SALE = "stock_sale"
    CONSIGNMENT_PAYOUT = "consignment_payout"
    SELLER_PAYOUT = "seller_payout"
    PAYMENT_RECEIVED = "payment_received"
    REFUND = "refund"
    REFUND_PAID = "refund_paid"
    LEVY = "levy"
    GOVERNMENT_INVOICE = "government_invoice"
    CONSIGNMENT_ADJUSTMENT = "consignment_adjustment"
    REVERSAL = "reversal"


class AccountKey(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: uuid.UUID
    purpose: AccountPurpose
    counterparty_id: uuid.UUID | None = None


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a transaction: positive = debit, negative = credit."""

    account: AccountKey
    amount: int


class JournalTransaction(msgspec.Struct, frozen=True, kw_only=True):
    """One money event. `reference` is unique across the ledger and derived from domain ids
    (``"<kind>:<id>"``), which is what makes posting idempotent."""

    reference: str
    kind: TransactionKind
    entries: tuple[Entry, ...]
    memo: str = ""


class EmptyTransaction(ValidationFailed):
    code = "ledger.empty"
    title = "A transaction needs entries"


class ZeroEntry(ValidationFailed):
    code = "ledger.zero_entry"
    title = "A transaction entry cannot be zero"


class DuplicateAccountEntry(ValidationFailed):
    code = "ledger.duplicate_account"
    title = "An account appears twice in one transaction"


class UnbalancedTransaction(ValidationFailed):
    code = "ledger.unbalanced"
    title = "The transaction's debits and credits differ"


class InvalidReference(ValidationFailed):
    code = "ledger.invalid_reference"
    title = "A transaction needs a reference"


class InvalidPostingAmount(ValidationFailed):
    code = "ledger.invalid_amount"
    title = "An amount to post is not valid"


class ReferenceConflict(Conflict):
    code = "ledger.reference_conflict"
    title = "The reference was already posted with different entries"


def validate_transaction(tx: JournalTransaction) -> None:
    """Refuse a transaction that is not a well-formed, balanced double entry."""
    if not tx.reference.strip():
        raise InvalidReference("A transaction needs a non-blank reference.")
    if not tx.entries:
        raise EmptyTransaction("A transaction needs at least one entry.", reference=tx.reference)
    seen: set[AccountKey] = set()
    for entry in tx.entries:
        if entry.amount == 0:
            raise ZeroEntry(
                "An entry cannot be zero: leave it out.",
                reference=tx.reference,
                account=_describe(entry.account),
            )
        if entry.account in seen:
            raise DuplicateAccountEntry(
                "Each account may appear once per transaction.",
                reference=tx.reference,
                account=_describe(entry.account),
            )
        seen.add(entry.account)
    imbalance = sum(entry.amount for entry in tx.entries)
    if imbalance:
        raise UnbalancedTransaction(
            f"Debits and credits differ by {imbalance}.",
            reference=tx.reference,
            debits=sum(e.amount for e in tx.entries if e.amount > 0),
            credits=-sum(e.amount for e in tx.entries if e.amount < 0),
            imbalance=imbalance,
        )


def same_posting(a: JournalTransaction, b: JournalTransaction) -> bool:
    """Whether `b` is a replay of the already-posted `a`.

    Different references: two postings, ``False``. Same reference, kind and entries (in any
    order; the memo is ignored): a duplicate, ``True`` — post nothing. Same reference with
    anything else: `ReferenceConflict`, because one event cannot have two money effects.
    """
    if a.reference != b.reference:
        return False
    if a.kind == b.kind and _canonical(a.entries) == _canonical(b.entries):
        return True
    raise ReferenceConflict(
        "This reference was already posted with different entries.",
        reference=a.reference,
        posted_kind=a.kind,
        new_kind=b.kind,
    )


def account_balances(transactions: Iterable[JournalTransaction]) -> dict[AccountKey, int]:
    """The balance of every account the transactions touch (debit positive)."""
    balances: defaultdict[AccountKey, int] = defaultdict(int)
    for tx in transactions:
        for entry in tx.entries:
            balances[entry.account] += entry.amount
    return dict(balances)


def _canonical(entries: Iterable[Entry]) -> list[tuple[tuple[int, str, int], int]]:
    return sorted((_account_sort_key(entry.account), entry.amount) for entry in entries)


def _account_sort_key(account: AccountKey) -> tuple[int, str, int]:
    counterparty = -1 if account.counterparty_id is None else account.counterparty_id.int
    return (account.organization_id.int, account.purpose.value, counterparty)


def _describe(account: AccountKey) -> dict[str, str | None]:
    return {
        "organization_id": str(account.organization_id),
        "purpose": account.purpose.value,
        "counterparty_id": None
        if account.counterparty_id is None
        else str(account.counterparty_id),
    }
