"""Use cases of the ledger context: post a money event, read balances and transactions.

`LedgerService` is the ledger's public API. Other contexts (orders, consignment,
procurement, payments) call `post` inside their own unit of work, so the money event
commits or rolls back together with the change that caused it; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from marketplace.accounts import Principal, Role, Scope
from marketplace.db import UnitOfWork
from marketplace.errors import Conflict
from marketplace.ids import new_id
from marketplace.ledger.domain import (
    PLATFORM_HOLDER,
    REFERENCE_MAX_LENGTH,
    AccountKey,
    AccountPurpose,
    Entry,
    InvalidPostingAmount,
    InvalidReference,
    JournalTransaction,
    TransactionKind,
    same_posting,
    validate_transaction,
)
from marketplace.ledger.models import LedgerEntry, LedgerTransaction
from marketplace.ledger.repository import LedgerRepository

# An entry is stored as BIGINT.
MAX_AMOUNT = 2**63 - 1


class PostResult(NamedTuple):
    transaction_id: uuid.UUID
    created: bool
    """False when the reference was already posted with the same entries (a replay)."""


class AccountBalance(NamedTuple):
    purpose: AccountPurpose
    counterparty_id: uuid.UUID | None
    balance: int
    """Sum of the account's entries: positive = net debit, negative = net credit."""


class PostedTransaction(msgspec.Struct, frozen=True, kw_only=True):
    """A stored journal transaction (possibly showing only one organization's entries)."""

    id: uuid.UUID
    created_at: dt.datetime
    reference: str
    kind: TransactionKind
    memo: str
    entries: tuple[Entry, ...]

    def journal(self) -> JournalTransaction:
        return JournalTransaction(
            reference=self.reference, kind=self.kind, entries=self.entries, memo=self.memo
        )


class PostingRace(Conflict):
    code = "ledger.posting_race"
    title = "The reference was posted concurrently; retry"


class LedgerService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.repository = LedgerRepository(uow.session)

    # --- posting (called by other contexts) -----------------------------------------

    async def post(self, tx: JournalTransaction) -> PostResult:
        """Record `tx` once. Replaying its reference with the same kind and entries records
        nothing and returns the stored transaction's id with ``created=False``; the same
        reference with anything else raises `ReferenceConflict` (409). Invalid or
        unbalanced transactions raise before anything is written.

        Two statements whatever the number of entries; a concurrent post of the same
        reference waits for this one's transaction and then sees it as a replay.
        """
        validate_transaction(tx)
        _check_storable(tx)
        transaction_id = new_id()
        inserted = await self.repository.insert_transaction_if_new(
            transaction_id=transaction_id, reference=tx.reference, kind=tx.kind.value, memo=tx.memo
        )
        if inserted:
            await self.repository.insert_entries(
                transaction_id, [(new_id(), entry) for entry in tx.entries]
            )
            return PostResult(transaction_id=transaction_id, created=True)
        existing = await self.repository.get_by_reference(tx.reference)
        if existing is None:
            # Only possible under REPEATABLE READ/SERIALIZABLE, where the row that won the
            # race is outside this transaction's snapshot.
            raise PostingRace(
                "This reference was posted by a concurrent transaction.", reference=tx.reference
            )
        posted = _posted(existing, await self.repository.entries_of([existing.id]))
        same_posting(posted.journal(), tx)  # raises ReferenceConflict when they differ
        return PostResult(transaction_id=existing.id, created=False)

    # --- reading (any caller, no authorization) -------------------------------------

    async def balances(self, organization_id: uuid.UUID) -> list[AccountBalance]:
        """Every account of the organization that has entries, with its balance."""
        return [
            AccountBalance(AccountPurpose(row.purpose), row.counterparty_id, row.balance)
            for row in await self.repository.balances(organization_id)
        ]

    async def transactions(
        self,
        *,
        reference: str | None = None,
        organization_id: uuid.UUID | None = None,
        after: uuid.UUID | None = None,
        limit: int = 50,
        only_entries_of: uuid.UUID | None = None,
    ) -> list[PostedTransaction]:
        """Transactions in posting order (keyset: ids after `after`), optionally only the
        one with `reference` and/or those touching an account of `organization_id`.
        `only_entries_of` hides the entries of other organizations."""
        scope = Scope.everything() if organization_id is None else Scope.of(organization_id)
        rows = await self.repository.list_page(
            reference=reference, scope=scope, after=after, limit=limit
        )
        entries = await self.repository.entries_of(
            [row.id for row in rows], organization_id=only_entries_of
        )
        by_transaction: dict[uuid.UUID, list[LedgerEntry]] = {}
        for entry in entries:
            by_transaction.setdefault(entry.transaction_id, []).append(entry)
        return [_posted(row, by_transaction.get(row.id, [])) for row in rows]

    # --- reading on behalf of an API caller ------------------------------------------

    async def balances_for(
        self, principal: Principal, organization_id: uuid.UUID | None
    ) -> tuple[uuid.UUID, list[AccountBalance]]:
        """Balances as `principal` may see them. Without an id: the caller's organization,
        or for the platform its own books (`PLATFORM_HOLDER`)."""
        if organization_id is None:
            organization_id = (
                PLATFORM_HOLDER if principal.is_platform else principal.organization_id
            )
        _authorize(principal, organization_id)
        return organization_id, await self.balances(organization_id)

    async def transactions_for(
        self,
        principal: Principal,
        *,
        reference: str | None,
        organization_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[PostedTransaction]:
        """The platform sees every transaction in full. An organization sees those touching
        its accounts, and of each only its own entries: the other parties' commission,
        fees or tax lines are theirs, not its business."""
        if principal.is_platform:
            return await self.transactions(
                reference=reference, organization_id=organization_id, after=after, limit=limit
            )
        if organization_id is None:
            organization_id = principal.organization_id
        _authorize(principal, organization_id)
        return await self.transactions(
            reference=reference,
            organization_id=organization_id,
            after=after,
            limit=limit,
            only_entries_of=organization_id,
        )


def _authorize(principal: Principal, organization_id: uuid.UUID) -> None:
    """The platform reads any books; an organization's finance (or admin) key its own.
    Another organization's books are reported as missing, never as forbidden."""
    principal.ensure_visible(organization_id, "organization")
    if not principal.is_platform:
        principal.require_role(Role.FINANCE)


def _check_storable(tx: JournalTransaction) -> None:
    if len(tx.reference) > REFERENCE_MAX_LENGTH:
        raise InvalidReference(
            f"A reference is at most {REFERENCE_MAX_LENGTH} characters.",
            reference=tx.reference[:REFERENCE_MAX_LENGTH],
            length=len(tx.reference),
        )
    for entry in tx.entries:
        if abs(entry.amount) > MAX_AMOUNT:
            raise InvalidPostingAmount(
                "An entry amount is too large to store.",
                reference=tx.reference,
                value=entry.amount,
                limit=MAX_AMOUNT,
            )


def _posted(row: LedgerTransaction, entries: Sequence[LedgerEntry]) -> PostedTransaction:
    return PostedTransaction(
        id=row.id,
        created_at=row.created_at,
        reference=row.reference,
        kind=TransactionKind(row.kind),
        memo=row.memo,
        entries=tuple(
            Entry(
                account=AccountKey(
                    organization_id=e.organization_id,
                    purpose=AccountPurpose(e.purpose),
                    counterparty_id=e.counterparty_id,
                ),
                amount=e.amount,
            )
            for e in entries
        ),
    )
