"""Ledger: append-only double-entry books of every money event.

Owns accounts (one per organization and purpose), journal transactions and balances. Every
money event — payment received, sale, commission, payout, refund, tax withheld, levy — is
one transaction whose entries sum to zero; corrections are new (reversing) transactions,
never edits; balances are sums of entries. Posting is idempotent by an external reference
derived from domain ids. Other domains call its public posting API; it calls no one.
"""

from marketplace.ledger.domain import (
    PLATFORM_HOLDER,
    AccountKey,
    AccountPurpose,
    Entry,
    JournalTransaction,
    ReferenceConflict,
    TransactionKind,
    postings,
)
from marketplace.ledger.service import (
    AccountBalance,
    LedgerService,
    PostedTransaction,
    PostingRace,
    PostResult,
)

__all__ = [
    "PLATFORM_HOLDER",
    "AccountBalance",
    "AccountKey",
    "AccountPurpose",
    "Entry",
    "JournalTransaction",
    "LedgerService",
    "PostResult",
    "PostedTransaction",
    "PostingRace",
    "ReferenceConflict",
    "TransactionKind",
    "postings",
]
