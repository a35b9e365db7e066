"""Products and listings, made through the API as the platform and a seller would."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.builders.legacy import LegacyKeys
from tests.support import Actor


class Product(msgspec.Struct, LegacyKeys, frozen=True, kw_only=True):
    """The product as the API answered it (the fields tests read)."""

    id: str
    sku: str
    name: str
    category: str


class Listing(msgspec.Struct, LegacyKeys, frozen=True, kw_only=True):
    """The listing as the API answered it (the fields tests read)."""

    id: str
    seller_organization_id: str
    supply_mode: str
    status: str
    on_hand: int
    reserved: int


def product_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": f"BRS-MED-5-{uuid.uuid4().hex[:8]}",
        "name": "Beras Medium 5 kg",
        "name_en": "Medium rice 5 kg",
        "category": "rice",
        "unit_code": "XSA",
        "unit_label": "karung 5 kg",
        "net_content": 5000,
        "net_content_unit": "GRM",
        "bulog_supplied": True,
        "price_caps": [{"region_prefix": "35", "max_unit_price": 70_000}],
    }
    body.update(overrides)
    return body


def oil_product_body(**overrides: Any) -> dict[str, Any]:
    """A bottled, VAT-taxable, non-Bulog product (Minyakita 1 L), beside the default rice."""
    body = product_body(
        sku=f"MK-{uuid.uuid4().hex[:6]}", name="Minyakita 1 L", category="oil",
        unit_code="XBO", unit_label="botol", net_content=1000, net_content_unit="MLT",
        bulog_supplied=False,
    )  # fmt: skip
    body.update(overrides)
    return body


def eggs_product_body(**overrides: Any) -> dict[str, Any]:
    """Eggs by the tray of 30: not Bulog's, no price cap."""
    body = product_body(
        sku=f"TLR-{uuid.uuid4().hex[:8]}", name="Telur ayam 1 tray", category="eggs",
        unit_code="XPU", unit_label="tray 30 butir", net_content=30, net_content_unit="H87",
        bulog_supplied=False, price_caps=[],
    )  # fmt: skip
    body.update(overrides)
    return body


def listing_body(
    product_id: str,
    *,
    tiers: list[tuple[int, int]] | None = None,
    stock: int = 100,
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "product_id": product_id,
        "price_tiers": [
            {"min_quantity": q, "unit_price": p} for q, p in (tiers or [(1, 65_000), (20, 62_000)])
        ],
        "opening_stock": stock,
    }
    body.update(overrides)
    return body


async def create_product(
    client: AsyncTestClient[Litestar], admin: Actor, **overrides: Any
) -> dict[str, Any]:
    """The product's whole JSON answer (for tests that read more than `Product` holds)."""
    response = await client.post(
        "/v1/products", json=product_body(**overrides), headers=admin.headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def create_listing(
    client: AsyncTestClient[Litestar],
    seller: Actor,
    product_id: str,
    *,
    tiers: list[tuple[int, int]] | None = None,
    stock: int = 100,
    **overrides: Any,
) -> dict[str, Any]:
    """The listing's whole JSON answer (for tests that read more than `Listing` holds)."""
    response = await client.post(
        "/v1/listings",
        json=listing_body(product_id, tiers=tiers, stock=stock, **overrides),
        headers=seller.headers,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def new_product(client: AsyncTestClient[Litestar], admin: Actor, **overrides: Any) -> Product:
    return msgspec.convert(await create_product(client, admin, **overrides), Product)


async def new_oil_product(
    client: AsyncTestClient[Litestar], admin: Actor, **overrides: Any
) -> Product:
    return await new_product(client, admin, **oil_product_body(**overrides))


async def new_eggs_product(
    client: AsyncTestClient[Litestar], admin: Actor, **overrides: Any
) -> Product:
    return await new_product(client, admin, **eggs_product_body(**overrides))


async def new_listing(
    client: AsyncTestClient[Litestar],
    seller: Actor,
    product: Product | str,
    *,
    tiers: list[tuple[int, int]] | None = None,
    stock: int = 100,
    **overrides: Any,
) -> Listing:
    product_id = product if isinstance(product, str) else product.id
    answer = await create_listing(client, seller, product_id, tiers=tiers, stock=stock, **overrides)
    return msgspec.convert(answer, Listing)
