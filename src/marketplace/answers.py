"""Response Structs made from rows: each field from the row's attribute of its name.

A response that is a row as it is (an ORM object or a row Struct) is converted, not
written out field by field: a column added to the table and to the response needs no
third edit in between. What the row doesn't hold — a computed figure, a nested object,
`currency` beside amounts — is given by name instead of the row's attribute. The
conversion checks every value against the response's type, so a status held as a str
or as a StrEnum turns into the response's enum alike.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)


@functools.cache
def _row_part(out: type[msgspec.Struct], given: frozenset[str]) -> type[msgspec.Struct]:
    """`out` without the given fields: what is read off the row (in C, one conversion;
    a Python proxy answering each attribute took ten times the hand-written code's time)."""
    if out.__struct_encode_fields__ != out.__struct_fields__:
        raise TypeError(f"{out.__name__} renames fields: its given fields are keyed by name")
    unknown = given - set(out.__struct_fields__)
    if unknown:
        raise TypeError(f"{out.__name__} has no field(s) {sorted(unknown)}")
    fields: list[Any] = []
    for field in msgspec.structs.fields(out):
        if field.name in given:
            continue
        if field.default is not msgspec.NODEFAULT:
            fields.append((field.name, field.type, field.default))
        elif field.default_factory is not msgspec.NODEFAULT:
            fields.append(
                (field.name, field.type, msgspec.field(default_factory=field.default_factory))
            )
        else:
            fields.append((field.name, field.type))
    return msgspec.defstruct(f"{out.__name__}FromRow", fields, kw_only=True)


def from_row(out: type[T], row: object, **given: Any) -> T:
    """`out` from the row's attributes (a named tuple's fields); the `given` fields
    instead of the row's — themselves rows or lists of rows where `out` nests Structs."""
    if isinstance(row, tuple):  # msgspec reads a tuple as an array, not by attribute
        row = row._asdict()  # type: ignore[attr-defined]
    if not given:
        return msgspec.convert(row, out, from_attributes=True)
    part = msgspec.convert(row, _row_part(out, frozenset(given)), from_attributes=True)
    values = msgspec.structs.asdict(part)
    values.update(given)
    return msgspec.convert(values, out, from_attributes=True)


@functools.cache
def _positional(out: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """`out`'s fields in their order, read from a row's positions (an array-like twin)."""
    fields = [(field.name, field.type) for field in msgspec.structs.fields(out)]
    return msgspec.defstruct(f"{out.__name__}Positions", fields, array_like=True)


def from_positions(out: type[T], rows: Sequence[Sequence[Any]]) -> list[T]:
    """Rows whose columns are `out`'s fields in `out`'s order, as `out`s: two conversions in
    C (by position into a twin, then by attribute into `out`), each value checked against
    its field's type as `from_row` checks it, none named in Python per row."""
    twins: Any = msgspec.convert(rows, list[_positional(out)])  # type: ignore[misc]
    converted: list[T] = msgspec.convert(twins, list[out], from_attributes=True)  # type: ignore[valid-type]
    return converted
