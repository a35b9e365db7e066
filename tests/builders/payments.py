"""Payments through the API: a buyer pays an order, a finance key confirms a transfer."""

from __future__ import annotations

import uuid
from typing import Any

from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Actor


async def pay(
    client: AsyncTestClient[Litestar],
    buyer: Actor,
    order_id: str,
    body: dict[str, Any],
    key: str | None = None,
) -> Response:
    """`POST /v1/orders/{id}/payments` with an Idempotency-Key (a fresh one unless given);
    `body` is e.g. `{"method": "card", "payment_method": "pm_card_visa"}`."""
    headers = {**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    return await client.post(f"/v1/orders/{order_id}/payments", json=body, headers=headers)


async def confirm_payment(
    client: AsyncTestClient[Litestar], finance: Actor, payment_id: str, reference: str
) -> Response:
    """A finance key confirms that a bank transfer (or treasury payment) arrived."""
    return await client.post(
        f"/v1/payments/{payment_id}/confirm",
        json={"reference": reference},
        headers=finance.headers,
    )
