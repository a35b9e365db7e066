"""Catalogue fixtures shared by listing, order and procurement tests."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Actor


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


async def create_product(
    client: AsyncTestClient[Litestar], admin: Actor, **overrides: Any
) -> dict[str, Any]:
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
    body: dict[str, Any] = {
        "product_id": product_id,
        "price_tiers": [
            {"min_quantity": q, "unit_price": p} for q, p in (tiers or [(1, 65_000), (20, 62_000)])
        ],
        "opening_stock": stock,
    }
    body.update(overrides)
    response = await client.post("/v1/listings", json=body, headers=seller.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
