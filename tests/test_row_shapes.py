"""Row Structs (`mirrors_table`) have exactly their table's columns, nullable alike.

A Struct that mirrors a table is what a bulk insert writes from (`unnest_insert`) and
what answers are converted from: a column added to the table and missed by its Struct
fails here rather than going unwritten or unanswered."""

from __future__ import annotations

import importlib
import pkgutil
import uuid

import msgspec
import pytest

import marketplace
from marketplace.schema import metadata


def _all_structs() -> list[type[msgspec.Struct]]:
    for module in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: list[type[msgspec.Struct]] = []
    pending = list(msgspec.Struct.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        found.append(cls)
    return found


ROW_STRUCTS = sorted(
    (cls for cls in _all_structs() if "mirrors_table" in vars(cls)),
    key=lambda cls: cls.__qualname__,
)


def mismatches(struct: type[msgspec.Struct]) -> list[str]:
    """How the Struct's fields differ from its table's columns (name, nullability)."""
    table = metadata.tables[vars(struct)["mirrors_table"]]
    columns = {column.name: bool(column.nullable) for column in table.columns}
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    fields = {
        field.name: isinstance(field.type, msgspec.inspect.UnionType)
        and any(isinstance(t, msgspec.inspect.NoneType) for t in field.type.types)
        for field in info.fields
    }
    found = [f"column {name} has no field" for name in sorted(columns.keys() - fields.keys())]
    found += [f"field {name} has no column" for name in sorted(fields.keys() - columns.keys())]
    found += [
        f"{name}: field {'' if fields[name] else 'not '}nullable, column "
        f"{'' if columns[name] else 'not '}nullable"
        for name in sorted(fields.keys() & columns.keys())
        if fields[name] != columns[name]
    ]
    return found


def test_the_placement_row_structs_are_found() -> None:
    names = {cls.__name__ for cls in ROW_STRUCTS}
    assert {"PlacedOrderRow", "PlacedLine", "PlacedLeg"} <= names


@pytest.mark.parametrize("struct", ROW_STRUCTS, ids=lambda cls: cls.__name__)
def test_a_row_struct_has_its_tables_columns(struct: type[msgspec.Struct]) -> None:
    assert mismatches(struct) == []


def test_a_struct_unlike_its_table_is_caught() -> None:
    class ShortLine(msgspec.Struct):
        mirrors_table = "order_lines"
        id: uuid.UUID
        order_id: uuid.UUID | None
        line_no: int
        product_id: uuid.UUID
        listing_id: uuid.UUID | None
        extra: int

    assert mismatches(ShortLine) == [
        "column quantity has no field",
        "field extra has no column",
        "order_id: field nullable, column not nullable",
    ]
