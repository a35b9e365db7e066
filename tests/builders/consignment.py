"""Consignment agreements and intakes, made through the API as a cooperative would."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.builders.catalog import Product
from tests.builders.legacy import LegacyKeys
from tests.support import Actor

BANK = {"bank_name": "BRI", "account_number": "0123456789", "account_holder": "Bu Sri"}


class Agreement(msgspec.Struct, LegacyKeys, frozen=True, kw_only=True):
    id: str
    commission_bps: int
    settlement_cycle_days: int


class Intake(msgspec.Struct, LegacyKeys, frozen=True, kw_only=True):
    id: str
    status: str
    listing_id: str | None


def agreement_body(consignor: Actor, *, bps: int = 1000, cycle_days: int = 7) -> dict[str, Any]:
    return {
        "consignor_id": str(consignor.organization_id),
        "commission_bps": bps,
        "settlement_cycle_days": cycle_days,
        "payout_account": BANK,
    }


async def create_agreement(
    client: AsyncTestClient[Litestar], coop: Actor, consignor: Actor, *, bps: int = 1000
) -> dict[str, Any]:
    """The agreement's whole JSON answer: `coop` takes goods on consignment from `consignor`."""
    response = await client.post(
        "/v1/consignment/agreements",
        json=agreement_body(consignor, bps=bps),
        headers=coop.headers,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def new_agreement(
    client: AsyncTestClient[Litestar], coop: Actor, consignor: Actor, *, bps: int = 1000
) -> Agreement:
    return msgspec.convert(await create_agreement(client, coop, consignor, bps=bps), Agreement)


def intake_body(
    agreement: Agreement | str,
    product: Product | str,
    *,
    quantity: int,
    unit_price: int,
    expiry_date: dt.date | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agreement_id": agreement if isinstance(agreement, str) else agreement.id,
        "product_id": product if isinstance(product, str) else product.id,
        "quantity": quantity,
        "unit_price": unit_price,
    }
    if expiry_date is not None:
        body["expiry_date"] = expiry_date.isoformat()
    return body


async def post_intake(
    client: AsyncTestClient[Litestar], who: Actor, body: dict[str, Any]
) -> Response:
    """`POST /v1/consignment/intakes`: the consignor proposes goods, or the cooperative
    records goods it received (in stock at once)."""
    return await client.post("/v1/consignment/intakes", json=body, headers=who.headers)


async def received_intake(
    client: AsyncTestClient[Litestar],
    coop: Actor,
    agreement: Agreement | str,
    product: Product | str,
    *,
    quantity: int,
    unit_price: int,
) -> Intake:
    """Goods the cooperative itself records as received (so they are in stock at once)."""
    body = intake_body(agreement, product, quantity=quantity, unit_price=unit_price)
    response = await post_intake(client, coop, body)
    assert response.status_code == 201, response.text
    return msgspec.convert(response.json(), Intake)
