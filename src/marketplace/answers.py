"""Response Structs made from rows: each field from the row's attribute of its name.

A response that is a row as it is (an ORM object or a row Struct) is converted, not
written out field by field: a column added to the table and to the response needs no
third edit in between. What the row doesn't hold — a computed figure, a nested object,
`currency` beside amounts — is given by name and wins over the row's attribute. The
conversion checks every value against the response's type, so a status held as a str
or as a StrEnum turns into the response's enum alike.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


class _RowWith:
    """The row, with some attributes given (or replaced) by the caller."""

    __slots__ = ("_given", "_row")

    def __init__(self, row: object, given: dict[str, Any]) -> None:
        self._row = row
        self._given = given

    def __getattr__(self, name: str) -> Any:
        given = self._given
        if name in given:
            return given[name]
        return getattr(self._row, name)


def from_row(out: type[T], row: object, **given: Any) -> T:
    """`out` from the row's attributes; `given` fields instead of the row's."""
    source = _RowWith(row, given) if given else row
    return msgspec.convert(source, out, from_attributes=True)
