"""Responses converted from rows (`marketplace.answers.from_row`)."""

from __future__ import annotations

import types
import uuid
from typing import NamedTuple

import msgspec
import pytest

from marketplace.answers import from_row
from marketplace.orders.domain.lifecycle import LegStatus
from marketplace.orders.domain.splitting import LegKind


class LegAnswer(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: LegKind
    status: LegStatus
    subtotal: int
    currency: str


def _row(**columns: object) -> types.SimpleNamespace:
    defaults: dict[str, object] = {"id": uuid.uuid4(), "kind": "stock", "subtotal": 5_000}
    return types.SimpleNamespace(**{**defaults, **columns})


@pytest.mark.parametrize("status", ["shipped", LegStatus.SHIPPED], ids=["str", "StrEnum"])
def test_a_status_held_as_str_or_enum_answers_as_the_enum(status: object) -> None:
    answer = from_row(LegAnswer, _row(status=status), currency="IDR")
    assert answer.status is LegStatus.SHIPPED
    assert answer.kind is LegKind.STOCK


def test_given_fields_win_over_the_rows() -> None:
    answer = from_row(LegAnswer, _row(status="reserved", subtotal=1), subtotal=2, currency="IDR")
    assert answer.subtotal == 2


def test_a_field_the_row_lacks_and_nobody_gave_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="currency"):
        from_row(LegAnswer, _row(status="reserved"))


def test_a_given_field_the_response_lacks_is_refused() -> None:
    with pytest.raises(TypeError, match="currancy"):
        from_row(LegAnswer, _row(status="reserved"), currancy="IDR")


def test_given_values_are_checked_too() -> None:
    answer = from_row(LegAnswer, _row(kind="stock", status="reserved"), currency="IDR")
    assert answer.currency == "IDR"
    with pytest.raises(msgspec.ValidationError, match="status"):
        from_row(LegAnswer, _row(kind="stock"), status="lost", currency="IDR")


class Balance(NamedTuple):
    purpose: str
    balance: int


class BalanceAnswer(msgspec.Struct, kw_only=True):
    purpose: str
    balance: int
    currency: str


class Book(msgspec.Struct, kw_only=True):
    accounts: list[BalanceAnswer]
    owner: str


def test_a_named_tuple_row_and_nested_rows_convert() -> None:
    assert from_row(BalanceAnswer, Balance("cash", 5), currency="IDR").balance == 5
    owner = types.SimpleNamespace(owner="koperasi")
    accounts = [types.SimpleNamespace(purpose="cash", balance=5, currency="IDR")]
    assert from_row(Book, owner, accounts=accounts).accounts[0].purpose == "cash"
