"""HTTP response shapes of the ledger context (it takes no request bodies)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from marketplace.ledger.domain import AccountPurpose, TransactionKind

Currency = Literal["IDR"]
Balance = Annotated[
    int,
    msgspec.Meta(
        description="Sum of the account's entries in whole rupiah: positive = net debit, "
        "negative = net credit (e.g. an amount owed to the organization)"
    ),
]
Amount = Annotated[
    int, msgspec.Meta(description="Whole rupiah: positive = debit, negative = credit; never 0")
]


class AccountBalanceOut(msgspec.Struct, kw_only=True):
    purpose: AccountPurpose
    counterparty_id: uuid.UUID | None
    balance: Balance
    currency: Currency


class LedgerBalancesOut(msgspec.Struct, kw_only=True):
    organization_id: uuid.UUID
    accounts: list[AccountBalanceOut]


class EntryOut(msgspec.Struct, kw_only=True):
    organization_id: uuid.UUID
    purpose: AccountPurpose
    counterparty_id: uuid.UUID | None
    amount: Amount
    currency: Currency


class LedgerTransactionOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    reference: str
    kind: TransactionKind
    memo: str
    created_at: dt.datetime
    entries: list[EntryOut]


class LedgerTransactionPage(msgspec.Struct, kw_only=True):
    items: list[LedgerTransactionOut]
    next_cursor: str | None
