# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_server are parameters here)
"""Payments through the real worker: outbox handler → refund job, webhook → inbox job.

The API enqueues jobs on a private Redis (other test sessions on this machine share the
default one and run workers of their own); a burst arq worker built from
`WorkerSettings` runs them, as in production.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.settings import Settings
from tests.builders import orders
from tests.builders import worker as worker_run
from tests.builders.payments import pay
from tests.catalog import create_listing, create_product
from tests.stripe_server import (  # noqa: F401  (fixtures)
    StripeServer,
    sign,
    stripe_event,
    stripe_server,
    stripe_settings,
)
from tests.support import Actors

Client = AsyncTestClient[Litestar]
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def worker_settings(
    stripe_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    from marketplace.embedded import start_redis

    redis_url = start_redis(Path(tmp_path_factory.mktemp("payments-redis")))
    return msgspec.structs.replace(stripe_settings, redis_url=redis_url)


@pytest.fixture(scope="module")
async def worker_client(worker_settings: Settings) -> AsyncIterator[Client]:
    from marketplace.app import create_app

    async with AsyncTestClient(
        app=create_app(worker_settings), raise_server_exceptions=False
    ) as client:
        yield client


@pytest.fixture
async def redis(worker_settings: Settings) -> AsyncIterator[ArqRedis]:
    assert worker_settings.redis_url is not None
    pool = await create_pool(RedisSettings.from_dsn(worker_settings.redis_url))
    yield pool
    await pool.aclose()


async def run_worker_burst(redis: ArqRedis, settings: Settings) -> None:
    from marketplace.worker import event_handlers

    await worker_run.run_worker_burst(redis, settings, event_handlers())


async def test_cancelling_a_paid_order_is_refunded_by_the_worker(
    worker_client: Client,
    worker_settings: Settings,
    redis: ArqRedis,
    stripe_server: StripeServer,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    actors = Actors(worker_client, session_factory)
    admin = await actors.platform_admin()
    rice = await create_product(worker_client, admin, price_caps=[])
    seller = await actors.org("cooperative", "seller", region_code="35.76.02.1005")
    await create_listing(worker_client, seller, rice["id"], tiers=[(1, 40_000)], stock=50)
    kitchen = await actors.org("kitchen", "buyer", region_code="35.76.02.1005")
    order = await orders.place_order(
        worker_client,
        kitchen,
        orders.order_body([(rice["id"], 5)], date=TOMORROW, address="Jl. A"),
    )
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    paid = await pay(
        worker_client, kitchen, order_id, {"method": "card", "payment_method": "pm_card_visa"}
    )
    assert paid.status_code == 201, paid.text
    payment: dict[str, Any] = paid.json()
    assert payment["status"] == "succeeded"

    cancelled = await worker_client.post(f"/v1/orders/{order_id}/cancel", headers=kitchen.headers)
    assert cancelled.status_code == 200, cancelled.text
    await run_worker_burst(redis, worker_settings)  # order.cancelled → refund → submit

    done = (
        await worker_client.get(f"/v1/payments/{payment['id']}", headers=kitchen.headers)
    ).json()
    assert done["status"] == "refunded"
    [refund] = done["refunds"]
    assert refund["status"] == "succeeded"
    at_stripe = stripe_server.get(f"/v1/refunds/{refund['provider_refund_id']}")
    assert at_stripe["amount"] == payment["amount"] * 100

    # Stripe then tells us about the refund: stored, handled by the worker, changes nothing.
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = stripe_event(
        event_id,
        "charge.refunded",
        {
            "id": "ch_x",
            "object": "charge",
            "payment_intent": payment["provider_payment_id"],
            "amount": payment["amount"] * 100,
            "amount_refunded": payment["amount"] * 100,
            "refunded": True,
        },
    )
    received = await worker_client.post(
        "/v1/payments/stripe/webhook",
        content=payload,
        headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
    )
    assert received.status_code == 200, received.text
    await run_worker_burst(redis, worker_settings)
    again = (
        await worker_client.get(f"/v1/payments/{payment['id']}", headers=kitchen.headers)
    ).json()
    assert again["status"] == "refunded"
    assert again["refunds"] == done["refunds"]
    async with session_factory() as session:
        handled = await session.execute(
            text(
                "SELECT outcome FROM stripe_events WHERE event_id = :e AND handled_at IS NOT NULL"
            ),
            {"e": event_id},
        )
        assert handled.scalar_one() == "no_change"
