"""Many rows in one INSERT, generated from the table: `INSERT … SELECT … FROM unnest(…)`.

A bulk write sends one array per column and a single statement whatever the number of
rows, so PostgreSQL prepares it once and every later execution reuses it. The statement
is made from the table's own columns (in table order), once, at import: adding a column
to the table adds it to the insert, and a caller that doesn't supply it fails at once
rather than writing NULL.

Each column is one of
- per row (the default): an array parameter named after the column;
- `shared`: one value for every row, a scalar parameter named after the column;
- `defaulted`: left to its default — the server default (the column is left out), the
  model's scalar default (written as a literal), or NULL for a nullable column.

JSON columns take JSON text (encoded by the caller), cast by PostgreSQL.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    TextClause,
    Uuid,
    literal,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import NullType

from marketplace.db import Base
from marketplace.driver import DriverStatement

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
# Subclasses before their bases (BigInteger is an Integer).
_SIMPLE_TYPES: tuple[tuple[type[Any], str], ...] = (
    (String, "varchar"),
    (Uuid, "uuid"),
    (BigInteger, "bigint"),
    (SmallInteger, "smallint"),
    (Integer, "integer"),
    (Boolean, "boolean"),
    (Numeric, "numeric"),
)


def _sql_type(column: Column[Any]) -> tuple[str, str]:
    """(the type an element is cast to, the element type of the parameter's array).

    Strings are cast to unbounded `varchar`/`text`: an explicit cast to `varchar(n)`
    would truncate an over-long value silently, where the INSERT itself refuses it."""
    kind = column.type
    if isinstance(kind, NullType) and column.foreign_keys:
        kind = next(iter(column.foreign_keys)).column.type
    if isinstance(kind, JSON):  # JSON and JSONB: JSON text in, cast per element
        name = "jsonb" if isinstance(kind, postgresql.JSONB) else "json"
        return name, "text"
    if isinstance(kind, Enum):
        name = kind.name if kind.native_enum and kind.name else "varchar"
        return name, name
    if isinstance(kind, Text):
        return "text", "text"
    if isinstance(kind, DateTime):
        name = "timestamptz" if kind.timezone else "timestamp"
        return name, name
    if isinstance(kind, Date):
        return "date", "date"
    for sa_type, name in _SIMPLE_TYPES:
        if isinstance(kind, sa_type):
            return name, name
    raise TypeError(f"No array cast for {column.table.name}.{column.name} ({kind!r})")


def _default_sql(column: Column[Any]) -> str | None:
    """The column's default as SQL text, or None to leave the column out of the INSERT."""
    if column.server_default is not None:
        return None
    default = column.default
    if default is not None and default.is_scalar:
        value = literal(default.arg, type_=column.type)  # type: ignore[attr-defined]
        return str(value.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    if column.nullable:
        return None
    raise ValueError(
        f"{column.table.name}.{column.name} has no default and is not nullable: "
        "it can't be `defaulted`"
    )


class UnnestInsert:
    """The bulk INSERT of the model's table (see the module's docstring); `statement` is
    its SQL, built once."""

    def __init__(
        self,
        model: type[Base],
        *,
        shared: Collection[str] = (),
        defaulted: Collection[str] = (),
    ) -> None:
        table = model.__table__
        assert isinstance(table, Table)
        names = {column.name for column in table.columns}
        unknown = (set(shared) | set(defaulted)) - names
        if unknown:
            raise ValueError(f"{table.name} has no column(s) {sorted(unknown)}")
        self.table = table
        self._shared = frozenset(shared)
        # Column → its default as SQL (None: left out); refused here if it has none.
        self._defaults = {name: _default_sql(table.columns[name]) for name in defaulted}
        self._defaulted = frozenset(defaulted)
        per_row = [c.name for c in table.columns if c.name not in self._shared | self._defaulted]
        if not per_row:
            raise ValueError(f"A bulk insert of {table.name} needs a column given per row")
        self.row_columns: tuple[str, ...] = tuple(per_row)
        self.shared_columns: frozenset[str] = self._shared
        self._columns = frozenset(per_row) | self._shared
        getter = operator.attrgetter(*per_row)
        # `attrgetter` of one name returns the value itself, not a 1-tuple.
        self._values_of: Callable[[Any], tuple[Any, ...]] = (
            getter if len(per_row) > 1 else (lambda row: (getter(row),))
        )

    @functools.cached_property
    def statement(self) -> TextClause:
        """The INSERT, made at first use (a foreign key column takes its type from the
        column it refers to, known once every table is defined); the same object, so
        the same SQL text, ever after."""
        into: list[str] = []
        values: list[str] = []
        arrays: list[str] = []
        for column in self.table.columns:
            name = column.name
            if name in self._defaulted:
                sql = self._defaults[name]
                if sql is not None:
                    into.append(name)
                    values.append(sql)
                continue
            cast, element = _sql_type(column)
            into.append(name)
            if name in self._shared:
                values.append(f"CAST(:{name} AS {cast})")
            else:
                arrays.append(f"CAST(:{name} AS {element}[])")
                values.append(f"r.{name}" if cast == element else f"CAST(r.{name} AS {cast})")
        return text(
            f"INSERT INTO {self.table.name} ({', '.join(into)})\n"
            f"SELECT {', '.join(values)}\n"
            f"FROM unnest({', '.join(arrays)})\n"
            f"     AS r({', '.join(self.row_columns)})"
        )

    @functools.cached_property
    def driver_statement(self) -> DriverStatement:
        """`statement` for the driver (`marketplace.driver`)."""
        return DriverStatement(self.statement)

    def rows_params(self, rows: Sequence[object], **shared: Any) -> dict[str, Any]:
        """Parameters for `rows` (objects with an attribute per per-row column: Structs
        mirroring the table) and the shared columns' values."""
        self._check_shared(shared)
        # One tuple per row, transposed to one per column.
        columns = list(zip(*map(self._values_of, rows), strict=True))
        columns = columns or [()] * len(self.row_columns)
        per_row = zip(self.row_columns, map(list, columns), strict=True)
        return {**dict(per_row), **shared}

    def array_params(self, **columns: Any) -> dict[str, Any]:
        """Parameters given as they are sent: a list per per-row column (all of one
        length), a value per shared one."""
        if columns.keys() != self._columns:
            missing = sorted(self._columns - columns.keys())
            extra = sorted(columns.keys() - self._columns)
            raise TypeError(f"{self.table.name} insert: missing {missing}, unknown {extra}")
        return columns

    def _check_shared(self, shared: dict[str, Any]) -> None:
        if shared.keys() != self.shared_columns:
            raise TypeError(
                f"{self.table.name} insert: shared columns are {sorted(self.shared_columns)}, "
                f"given {sorted(shared)}"
            )
