"""One consignment statement as its caller may see it, in one statement on the read pool
(no unit of work): `GET /v1/consignment/statements/{id}`.

Through the ORM it took five statements (the statement, its payout, then the sales,
returns and adjustments in its range) and a session. Here one SELECT returns the
statement's answer columns, then its sales, returns and adjustments as arrays of
anonymous records; asyncpg decodes those into tuples of native values (timestamps in UTC
whatever the server's `TimeZone`, which JSON text would not give), and each tuple's
positions are its answer Struct's fields in order, so it converts positionally
(`answers.from_positions`).

Every column list is its answer Struct's fields, in their order: a table's column of
that name, or what the ORM path computes for it (`answers.statement_summary`, `sale_out`,
`adjustment_out`), so a field added to an answer cannot be missed here.

A statement is its cooperative's and its consignor's (`SettlementService.statement`): the
platform sees any, another organization finds none.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import asyncpg
import msgspec

from marketplace.answers import from_positions
from marketplace.consignment.schemas import (
    AdjustmentOut,
    ReturnOut,
    SaleLineOut,
    StatementOut,
    StatementSummary,
)
from marketplace.read_pool import ReadPool


def _columns(out: type[msgspec.Struct], alias: str, computed: Mapping[str, str]) -> str:
    """`out`'s fields in order as SQL: `alias.<field>`, or the field's computed expression."""
    names = [f.name for f in msgspec.structs.fields(out)]
    unknown = set(computed) - set(names)
    if unknown:
        raise TypeError(f"{out.__name__} has no field(s) {sorted(unknown)}")
    return ", ".join(computed.get(name, f"{alias}.{name}") for name in names)


def _records(out: type[msgspec.Struct], table: str, order_by: str, **computed: str) -> str:
    """The statement's records of `table` in its range, as an array of `out`-shaped rows."""
    return f"""(SELECT array_agg(ROW({_columns(out, "x", computed)}) ORDER BY {order_by})
          FROM {table} x
         WHERE x.cooperative_id = s.cooperative_id AND x.consignor_id = s.consignor_id
           AND x.seq > s.from_seq AND x.seq <= s.to_seq)"""


_IDR = "'IDR'::text"
_SUMMARY_WIDTH = len(msgspec.structs.fields(StatementSummary))

# $1 the statement, $2 whether the caller is the platform, $3 the caller's organization.
STATEMENT_SQL = f"""
SELECT {
    _columns(
        StatementSummary, "s", {"currency": _IDR, "payout_id": "p.id", "payout_status": "p.status"}
    )
},
       {
    _records(
        SaleLineOut,
        "consignment_sales",
        "x.sold_at, x.id",
        currency=_IDR,
        net_amount="x.gross_amount - x.commission_amount",
    )
} AS sales,
       {_records(ReturnOut, "consignment_returns", "x.returned_at, x.id")} AS returns,
       {
    _records(AdjustmentOut, "consignment_adjustments", "x.seq", currency=_IDR, statement_id="s.id")
} AS adjustments
  FROM consignment_statements s
  LEFT JOIN consignment_payouts p ON p.statement_id = s.id
 WHERE s.id = $1 AND ($2 OR s.cooperative_id = $3 OR s.consignor_id = $3)
"""


def statement_read(row: asyncpg.Record) -> StatementOut:
    """A row of `STATEMENT_SQL` (the summary's columns, then the sales, returns and
    adjustments, each an array of records, or null when there are none) as the answer."""
    summary = tuple(row[:_SUMMARY_WIDTH])
    sales, returns, adjustments = row[_SUMMARY_WIDTH:]
    return StatementOut(
        statement=from_positions(StatementSummary, (summary,))[0],
        sales=from_positions(SaleLineOut, sales or ()),
        returns=from_positions(ReturnOut, returns or ()),
        adjustments=from_positions(AdjustmentOut, adjustments or ()),
    )


class StatementReads:
    def __init__(self, reads: ReadPool) -> None:
        self.reads = reads

    async def visible_statement(
        self, statement_id: uuid.UUID, *, is_platform: bool, organization_id: uuid.UUID | None
    ) -> StatementOut | None:
        """The statement, or None when there is none the caller may see."""
        rows = await self.reads.fetch(STATEMENT_SQL, (statement_id, is_platform, organization_id))
        return statement_read(rows[0]) if rows else None
