"""Order bodies and orders placed through the API, as a buyer's client would send them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.builders.catalog import Product
from tests.support import Actor

MOJOKERTO_VILLAGE = "35.76.02.1005"


class OrderLine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    product_id: str
    quantity: int
    listing_id: str | None = None  # a line pinned to one listing


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    date: str
    region_code: str = MOJOKERTO_VILLAGE
    address: str = "Dapur SPPG"


class OrderBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The body of `POST /v1/orders` (and `/v1/orders/preview`)."""

    lines: list[OrderLine]
    delivery: Delivery
    notes: str | None = None

    def as_json(self, **extra: Any) -> dict[str, Any]:
        """The body as sent; `extra` adds fields the schema may refuse (hostile-input tests)."""
        body: dict[str, Any] = msgspec.to_builtins(self)
        return {**body, **extra}


def order_body(
    lines: Sequence[tuple[Product | str, int]],
    *,
    date: str,
    region_code: str = MOJOKERTO_VILLAGE,
    address: str = "Dapur SPPG",
    pins: dict[int, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An order body as JSON: `lines` are (product, quantity); `pins` maps a 1-based line
    number to the listing that line is pinned to."""
    pins = pins or {}
    body = OrderBody(
        lines=[
            OrderLine(
                product_id=product if isinstance(product, str) else product.id,
                quantity=quantity,
                listing_id=pins.get(line_no),
            )
            for line_no, (product, quantity) in enumerate(lines, start=1)
        ],
        delivery=Delivery(date=date, region_code=region_code, address=address),
    )
    return body.as_json(**extra)


async def place_order(
    client: AsyncTestClient[Litestar],
    buyer: Actor,
    body: OrderBody | dict[str, Any],
    *,
    key: str | None = None,
) -> Response:
    """`POST /v1/orders` as `buyer` with an Idempotency-Key (a fresh one unless given)."""
    json = body.as_json() if isinstance(body, OrderBody) else body
    headers = {**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    return await client.post("/v1/orders", json=json, headers=headers)


class PlacedLeg(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    product_id: str
    listing_id: str | None
    quantity: int
    unit_price: int
    status: str


class PlacedOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order the API accepted (the fields tests read)."""

    id: str
    status: str
    total: int
    legs: list[PlacedLeg]


async def placed_order(
    client: AsyncTestClient[Litestar], buyer: Actor, body: OrderBody | dict[str, Any]
) -> PlacedOrder:
    """Place an order that must be accepted (201)."""
    response = await place_order(client, buyer, body)
    assert response.status_code == 201, response.text
    return msgspec.convert(response.json(), PlacedOrder)
