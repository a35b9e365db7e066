"""The bulk INSERT generated from a table: every column, one stable statement."""

from __future__ import annotations

import pytest

import marketplace.schema  # noqa: F401  (every table, so foreign keys resolve)
from marketplace.listings.models import StockMovement
from marketplace.orders.models import OrderLeg, OrderLine
from marketplace.unnest_insert import UnnestInsert


def test_every_column_is_written_shared_ones_once() -> None:
    insert = UnnestInsert(OrderLeg, shared=("order_id", "status"))
    sql = insert.statement.text
    columns = [c.name for c in OrderLeg.__table__.columns]
    assert sql.startswith(f"INSERT INTO order_legs ({', '.join(columns)})\n")
    assert "CAST(:order_id AS uuid)" in sql
    assert "CAST(:status AS varchar)" in sql
    assert "CAST(:quantity AS bigint[])" in sql
    assert "CAST(:shipped_at AS timestamptz[])" in sql
    assert set(insert.row_columns) == set(columns) - {"order_id", "status"}
    # Built once: one SQL text, so one prepared statement, for every execution.
    assert insert.statement is insert.statement


def test_defaulted_columns_take_their_defaults() -> None:
    sql = UnnestInsert(OrderLeg, defaulted=("credited_amount", "created_at")).statement.text
    assert "created_at" not in sql  # the server's now()
    assert "credited_amount" in sql.splitlines()[0]  # the model's 0, as a literal
    assert ":credited_amount" not in sql


def test_a_required_column_without_default_cannot_be_left_out() -> None:
    with pytest.raises(ValueError, match=r"order_lines\.quantity"):
        UnnestInsert(OrderLine, defaulted=("quantity",))
    with pytest.raises(ValueError, match="no column"):
        UnnestInsert(OrderLine, shared=("note",))


def test_parameters_must_name_every_column() -> None:
    insert = UnnestInsert(
        StockMovement,
        shared=(
            "kind",
            "reference",
            "actor_organization_id",
            "actor_api_key_id",
            "actor_person_id",
        ),
        defaulted=("reason", "created_at"),
    )
    with pytest.raises(TypeError, match=r"missing \['reserved_after'\]"):
        insert.array_params(
            kind="ship", reference="r", actor_organization_id=None, actor_api_key_id=None,
            actor_person_id=None,
            id=[], listing_id=[], on_hand_delta=[], reserved_delta=[], on_hand_after=[],
        )  # fmt: skip
    with pytest.raises(TypeError, match="shared columns"):
        UnnestInsert(OrderLine, shared=("order_id",)).rows_params([])
