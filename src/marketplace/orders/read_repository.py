"""One order as its caller may see it, in one statement on the read pool (no unit of work).

`GET /v1/orders/{id}` is what a partner app polls. Through the ORM it took three
statements (the order, its lines, its legs), a session and the conversion of every row
into mapped objects and then into the answer. Here PostgreSQL returns the order's columns
with its lines and the caller's visible legs already as JSON arrays in the answer's own
field names, which msgspec decodes straight into the answer's Structs.

Visibility is `OrderService.view`'s: the buyer and the platform see every leg, a supplier
only its own; an order in which the caller has no part is not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import msgspec

from marketplace.orders.schemas import LegOut, OrderLineOut
from marketplace.read_pool import ReadPool

# The answer's own fields, named as the tables name their columns ("currency" is a constant).
_LEG_FIELDS = tuple(f.name for f in msgspec.structs.fields(LegOut) if f.name != "currency")
_LINE_FIELDS = tuple(f.name for f in msgspec.structs.fields(OrderLineOut))


def _json_object(alias: str, fields: tuple[str, ...], **constants: str) -> str:
    pairs = [f"'{name}', {alias}.{name}" for name in fields]
    pairs += [f"'{name}', '{value}'" for name, value in constants.items()]
    return f"json_build_object({', '.join(pairs)})"


# $1 the order, $2 whether the caller is the platform, $3 the caller's organization.
ORDER_STATEMENT = f"""
SELECT o.id, o.buyer_organization_id, o.status, o.delivery_date, o.delivery_region_code,
       o.delivery_address, o.notes, o.subtotal, o.vat_total, o.levy_total, o.total,
       o.credited_total, o.budget_period_id, o.standing_order_id, o.created_at,
       (SELECT coalesce(json_agg({_json_object("l", _LINE_FIELDS)} ORDER BY l.line_no), '[]')
          FROM order_lines l WHERE l.order_id = o.id) AS lines,
       (SELECT coalesce(json_agg({_json_object("g", _LEG_FIELDS, currency="IDR")}
                                 ORDER BY g.line_no, g.id), '[]')
          FROM order_legs g
         WHERE g.order_id = o.id
           AND ($2 OR o.buyer_organization_id = $3 OR g.supplier_organization_id = $3)) AS legs
  FROM orders o
 WHERE o.id = $1
"""

_lines = msgspec.json.Decoder(list[OrderLineOut])
_legs = msgspec.json.Decoder(list[LegOut])


class OrderRead(msgspec.Struct, frozen=True, kw_only=True):
    """The order's own columns (by name, as the answer calls them) and what it holds."""

    row: dict[str, Any]
    lines: list[OrderLineOut]
    legs: list[LegOut]

    @property
    def buyer_organization_id(self) -> uuid.UUID:
        buyer: uuid.UUID = self.row["buyer_organization_id"]
        return buyer


def order_read(record: Mapping[str, Any]) -> OrderRead:
    """A row of `ORDER_STATEMENT` as the order's columns with its decoded lines and legs."""
    row = dict(record)
    lines, legs = row.pop("lines"), row.pop("legs")
    return OrderRead(row=row, lines=_lines.decode(lines), legs=_legs.decode(legs))


class OrderReads:
    def __init__(self, reads: ReadPool) -> None:
        self.reads = reads

    async def visible_order(
        self, order_id: uuid.UUID, *, is_platform: bool, organization_id: uuid.UUID | None
    ) -> OrderRead | None:
        rows = await self.reads.fetch(ORDER_STATEMENT, (order_id, is_platform, organization_id))
        return order_read(rows[0]) if rows else None
