"""Trade contracts, made through the API as a trade center would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.builders.catalog import Product
from tests.builders.legacy import LegacyKeys
from tests.support import Actor


class Allotment(msgspec.Struct, LegacyKeys, frozen=True, kw_only=True):
    id: str
    supplier_organization_id: str
    weekly_quantity: int


class TradeContract(msgspec.Struct, LegacyKeys, frozen=True, kw_only=True):
    """The contract as the API answered it (the fields tests read)."""

    id: str
    status: str
    allotments: list[Allotment]


def contract_body(
    product: Product | str,
    counterparty: Actor,
    suppliers: Sequence[tuple[Actor, int]],
    *,
    start_date: dt.date | str,
    end_date: dt.date | str,
    weekly_volume: int = 100,
    unit_price: int = 55_000,
    levy_bps: int = 150,
    **extra: Any,
) -> dict[str, Any]:
    """A trade contract's body: `suppliers` are (cooperative, weekly capacity)."""
    body: dict[str, Any] = {
        "product_id": product if isinstance(product, str) else product.id,
        "counterparty_organization_id": str(counterparty.organization_id),
        "weekly_volume": weekly_volume,
        "unit_price": unit_price,
        "levy_bps": levy_bps,
        "start_date": start_date if isinstance(start_date, str) else start_date.isoformat(),
        "end_date": end_date if isinstance(end_date, str) else end_date.isoformat(),
        "suppliers": [
            {"organization_id": str(supplier.organization_id), "weekly_capacity": capacity}
            for supplier, capacity in suppliers
        ],
    }
    body.update(extra)
    return body


async def create_contract(
    client: AsyncTestClient[Litestar], trade_center: Actor, body: dict[str, Any]
) -> dict[str, Any]:
    """The contract's whole JSON answer."""
    response = await client.post(
        "/v1/procurement/trade-contracts", json=body, headers=trade_center.headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def new_contract(
    client: AsyncTestClient[Litestar], trade_center: Actor, body: dict[str, Any]
) -> TradeContract:
    return msgspec.convert(await create_contract(client, trade_center, body), TradeContract)
