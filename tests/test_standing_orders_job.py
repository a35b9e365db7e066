"""The H-1 cron enqueues due standing orders; the worker places each once per date."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.jobs import ArqJobQueue
from marketplace.orders import tasks as orders_tasks
from marketplace.settings import Settings
from tests.catalog import create_listing, create_product
from tests.support import Actors, ServiceUrls


async def run_worker(settings: Settings, redis: Any) -> None:
    from marketplace.worker import WorkerSettings

    worker = Worker(
        functions=WorkerSettings.functions,
        redis_pool=redis,
        burst=True,
        on_startup=WorkerSettings.on_startup,
        on_shutdown=WorkerSettings.on_shutdown,
        ctx={"settings": settings},
        poll_delay=0.05,
        handle_signals=False,
    )
    await worker.async_run()
    await worker.close()


async def test_cron_places_tomorrows_standing_order_once(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    settings: Settings,
    service_urls: ServiceUrls,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.platform_admin()
    coop = await actors.org("cooperative", "seller", region_code="35.76.02.1005")
    kitchen = await actors.org("kitchen", "buyer", region_code="35.76.02.1005")
    product = await create_product(client, admin, price_caps=[], bulog_supplied=False)
    await create_listing(client, coop, product["id"], tiers=[(1, 60_000)], stock=100)
    tomorrow = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    tomorrow += dt.timedelta(days=1)
    lines = [{"product_id": product["id"], "quantity": 4}]
    created = await client.post(
        "/v1/standing-orders",
        json={
            "name": "Menu H-1",
            "weekdays": {str(tomorrow.isoweekday()): lines},
            "delivery": {"date": tomorrow.isoformat(), "region_code": "35.76.02.1005",
                         "address": "Dapur SPPG"},
        },
        headers=kitchen.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    standing_id = created.json()["id"]

    for _ in range(2):  # the cron fires twice (a restart, an overlap): still one order
        redis = await create_pool(RedisSettings.from_dsn(service_urls.redis_url))
        ctx = {"session_factory": session_factory, "jobs": ArqJobQueue(redis)}
        assert await orders_tasks.schedule_standing_orders(ctx) >= 1
        await run_worker(settings, redis)

    orders = (await client.get("/v1/orders", headers=kitchen.headers)).json()["items"]
    assert [(o["standing_order_id"], o["delivery"]["date"]) for o in orders] == [
        (standing_id, tomorrow.isoformat())
    ]
    assert orders[0]["lines"][0]["quantity"] == 4
    assert uuid.UUID(orders[0]["id"])
