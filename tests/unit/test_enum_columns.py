"""Status and kind columns are their StrEnums: plain VARCHAR in the database (the
migration-drift check holds the length), members when read, and an unknown string is
refused before it is written."""

from __future__ import annotations

import pytest
from sqlalchemy import Enum
from sqlalchemy.dialects import postgresql

from marketplace.orders.domain.lifecycle import LegStatus
from marketplace.orders.models import OrderLeg
from marketplace.schema import metadata


def test_enum_columns_are_varchar_without_a_check_constraint() -> None:
    columns = [c for t in metadata.tables.values() for c in t.columns if isinstance(c.type, Enum)]
    assert len(columns) >= 25
    for column in columns:
        assert column.type.native_enum is False
        assert column.type.create_constraint is False
        assert column.type.compile(dialect=postgresql.dialect()).startswith("VARCHAR(")


def test_values_are_written_as_they_were_and_read_back_as_members() -> None:
    column_type = OrderLeg.__table__.c.status.type
    dialect = postgresql.dialect()
    write = column_type.bind_processor(dialect)
    read = column_type.result_processor(dialect, None)
    assert write is not None
    assert read is not None
    assert write(LegStatus.SHIPPED) == write("shipped") == "shipped"
    assert read("shipped") is LegStatus.SHIPPED
    with pytest.raises(LookupError):
        write("shiped")
