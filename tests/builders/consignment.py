"""Consignment agreements and intakes, made through the API as a cooperative would."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import msgspec
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.builders.catalog import Product, new_product
from tests.builders.legacy import LegacyKeys
from tests.support import Actor, Actors

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


@dataclass(frozen=True)
class ConsignedOil:
    """A cooperative holding 10 bottles of a standard-rated oil on consignment from a UMKM
    (Rp20,000 each, 10% commission), and a kitchen in the same village."""

    admin: Actor
    oil: Product
    coop: Actor
    coop_seller: Actor
    umkm: Actor
    kitchen: Actor


async def consigned_oil(
    client: AsyncTestClient[Litestar], actors: Actors, *, consignor_vat_registered: bool
) -> ConsignedOil:
    village = "35.76.02.1005"
    admin = await actors.platform_admin()
    oil = await new_product(
        client, admin, category="oil", bulog_supplied=False, price_caps=[], name="Minyak 1 L"
    )
    coop = await actors.org("cooperative", "admin", region_code=village)
    umkm = await actors.org(
        "umkm", "seller", region_code=village, vat_registered=consignor_vat_registered
    )
    agreement = await new_agreement(client, coop, umkm, bps=1000)
    await received_intake(client, coop, agreement, oil, quantity=10, unit_price=20_000)
    return ConsignedOil(
        admin=admin,
        oil=oil,
        coop=coop,
        coop_seller=await actors.key_for(coop, "seller"),
        umkm=umkm,
        kitchen=await actors.org("kitchen", "buyer", region_code=village),
    )
