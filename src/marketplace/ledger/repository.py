"""All queries of the ledger context. Never commits; never updates or deletes (the tables
are append-only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import exists, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts import Scope
from marketplace.ledger.domain import Entry
from marketplace.ledger.models import LedgerEntry, LedgerTransaction


class BalanceRow(NamedTuple):
    purpose: str
    counterparty_id: uuid.UUID | None
    balance: int


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_transaction_if_new(
        self, *, transaction_id: uuid.UUID, reference: str, kind: str, memo: str
    ) -> bool:
        """Insert the transaction row unless its reference exists; whether it was inserted.

        `ON CONFLICT DO NOTHING` makes a concurrent insert of the same reference wait for the
        first one's transaction and then insert nothing, so exactly one row ever exists and
        neither transaction is aborted by a unique violation.
        """
        statement = (
            pg_insert(LedgerTransaction)
            .values(id=transaction_id, reference=reference, kind=kind, memo=memo)
            .on_conflict_do_nothing(index_elements=[LedgerTransaction.reference])
            .returning(LedgerTransaction.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def insert_entries(
        self, transaction_id: uuid.UUID, entries: Sequence[tuple[uuid.UUID, Entry]]
    ) -> None:
        """All entries of one transaction in one multi-row INSERT statement."""
        rows = [
            {
                "id": entry_id,
                "transaction_id": transaction_id,
                "organization_id": entry.account.organization_id,
                "purpose": entry.account.purpose.value,
                "counterparty_id": entry.account.counterparty_id,
                "amount": entry.amount,
            }
            for entry_id, entry in entries
        ]
        await self.session.execute(insert(LedgerEntry).values(rows))

    async def get_by_reference(self, reference: str) -> LedgerTransaction | None:
        result = await self.session.execute(
            select(LedgerTransaction).where(LedgerTransaction.reference == reference)
        )
        return result.scalar_one_or_none()

    async def entries_of(
        self, transaction_ids: Sequence[uuid.UUID], *, organization_id: uuid.UUID | None = None
    ) -> list[LedgerEntry]:
        """The entries of these transactions (only one organization's, if given)."""
        if not transaction_ids:
            return []
        query = (
            select(LedgerEntry)
            .where(LedgerEntry.transaction_id.in_(transaction_ids))
            .order_by(LedgerEntry.transaction_id, LedgerEntry.id)
        )
        if organization_id is not None:
            query = query.where(LedgerEntry.organization_id == organization_id)
        return list((await self.session.execute(query)).scalars())

    async def balances(self, organization_id: uuid.UUID) -> list[BalanceRow]:
        """Every account of the organization with the sum of its entries, computed now."""
        total = func.sum(LedgerEntry.amount)
        result = await self.session.execute(
            select(LedgerEntry.purpose, LedgerEntry.counterparty_id, total)
            .where(LedgerEntry.organization_id == organization_id)
            .group_by(LedgerEntry.purpose, LedgerEntry.counterparty_id)
            .order_by(LedgerEntry.purpose, LedgerEntry.counterparty_id.asc().nulls_first())
        )
        # SUM(bigint) is numeric in PostgreSQL: exact, and never overflows.
        return [
            BalanceRow(purpose, counterparty, int(balance))
            for purpose, counterparty, balance in result
        ]

    async def list_page(
        self,
        *,
        reference: str | None,
        scope: Scope,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[LedgerTransaction]:
        """Transactions in id (= posting time) order; scoped to those with an entry on one
        of the organization's accounts."""
        query: Any = select(LedgerTransaction).order_by(LedgerTransaction.id).limit(limit)
        if reference is not None:
            query = query.where(LedgerTransaction.reference == reference)
        query = scope.narrow(
            query,
            lambda org: exists().where(
                LedgerEntry.transaction_id == LedgerTransaction.id,
                LedgerEntry.organization_id == org,
            ),
        )
        if after is not None:
            query = query.where(LedgerTransaction.id > after)
        return list((await self.session.execute(query)).scalars())
