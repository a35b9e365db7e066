"""A thin HTTP client for the battery: creates organizations, keys, catalogue and orders
through the public API of a real server, as partner integrations would."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def platform_key(database_url: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    out = subprocess.run(
        [sys.executable, "-m", "marketplace.cli", "admin-key"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


class Api:
    def __init__(self, base_url: str, admin_key: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=60,
            # Idle connections are dropped before uvicorn's 5 s keep-alive timeout: reusing
            # one just as the server closes it fails a POST with no answer (ReadError) —
            # a client-side race that would otherwise count as a server fault.
            limits=httpx.Limits(
                max_connections=200, max_keepalive_connections=50, keepalive_expiry=2.0
            ),
            event_hooks={"response": [self._count]},
        )
        self.admin = admin_key
        # Answers refused by a rate limit: the battery's normal load must never see one.
        self.rate_limited: list[str] = []

    async def _count(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            self.rate_limited.append(f"{response.request.method} {response.request.url.path}")

    async def close(self) -> None:
        await self.client.aclose()

    @staticmethod
    def auth(key: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", **extra}

    async def ok(self, method: str, url: str, key: str, **kwargs: Any) -> Any:
        response = await self.client.request(method, url, headers=self.auth(key), **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.text}")
        return response.json()

    async def organization(
        self, kind: str, role: str, region: str = "35.76.02.1005"
    ) -> tuple[str, str]:
        """(organization id, API key of `role`)."""
        tag = uuid.uuid4().hex[:10]
        org = await self.ok(
            "POST",
            "/v1/organizations",
            self.admin,
            json={"kind": kind, "name": f"Battery {kind} {tag}", "slug": f"battery-{tag}",
                  "region_code": region, "city": "Kota Mojokerto"},
        )  # fmt: skip
        key = await self.ok(
            "POST", f"/v1/organizations/{org['id']}/api-keys", self.admin, json={"role": role}
        )
        return org["id"], key["key"]

    async def key(self, organization_id: str, role: str) -> str:
        """Another API key of `role` for the organization."""
        path = f"/v1/organizations/{organization_id}/api-keys"
        return str((await self.ok("POST", path, self.admin, json={"role": role}))["key"])

    async def product(self) -> str:
        tag = uuid.uuid4().hex[:8]
        body = {
            "sku": f"BAT-{tag}", "name": f"Beras Medium 5 kg {tag}", "category": "rice",
            "unit_code": "XSA", "unit_label": "karung 5 kg", "net_content": 5000,
            "net_content_unit": "GRM",
        }  # fmt: skip
        return str((await self.ok("POST", "/v1/products", self.admin, json=body))["id"])

    async def listing(self, seller_key: str, product_id: str, stock: int) -> str:
        body = {
            "product_id": product_id,
            "price_tiers": [{"min_quantity": 1, "unit_price": 65_000}],
            "opening_stock": stock,
        }
        return str((await self.ok("POST", "/v1/listings", seller_key, json=body))["id"])

    async def place(
        self, buyer_key: str, product_id: str, quantity: int, key: str | None = None
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/orders",
            json={
                "lines": [{"product_id": product_id, "quantity": quantity}],
                "delivery": {"date": TOMORROW, "region_code": "35.76.02.1005", "address": "Dapur"},
            },
            headers=self.auth(buyer_key, **{"Idempotency-Key": key or uuid.uuid4().hex}),
        )
