"""Placing an order costs the same Redis round trips whatever its number of lines: its
events (one to the buyer, one to each supplier) are one job, enqueued in one round trip
after the commit. A 20-line kitchen order once sent ~60, one job per event, before its
answer (issue 19)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.db import UnitOfWork
from marketplace.jobs import ArqJobQueue, QueuedJob
from marketplace.orders.placement import OrderPlacement
from marketplace.orders.schemas import OrderCreate
from marketplace.settings import Settings
from tests.builders.round_trips import counting_redis
from tests.builders.worker import run_worker_burst
from tests.catalog import create_listing, create_product
from tests.placing import buyer_principal
from tests.support import Actor, Actors, ServiceUrls

REGION = "35.76.02.1005"
LINES = 20


@pytest.fixture
async def redis(service_urls: ServiceUrls) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(service_urls.redis_url))
    await pool.flushdb()
    yield pool
    await pool.aclose()


def order(product_ids: list[str]) -> OrderCreate:
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    return msgspec.convert(
        {
            "lines": [{"product_id": p, "quantity": 1} for p in product_ids],
            "delivery": {"date": tomorrow, "region_code": REGION, "address": "Dapur"},
        },
        OrderCreate,
    )


async def one_supplier_each(
    client: AsyncTestClient[Litestar], actors: Actors, products: int
) -> list[str]:
    """Products each sold by a seller of its own: an order of n of them has n suppliers."""
    admin = await actors.platform_admin()
    product_ids = []
    for _ in range(products):
        product = await create_product(client, admin, price_caps=[])
        seller = await actors.org("cooperative", "seller", region_code=REGION)
        await create_listing(client, seller, product["id"], stock=100)
        product_ids.append(product["id"])
    return product_ids


async def test_an_orders_redis_round_trips_do_not_grow_with_its_lines(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    service_urls: ServiceUrls,
) -> None:
    product_ids = await one_supplier_each(client, actors, LINES)
    kitchen = await actors.org("kitchen", "buyer", region_code=REGION)
    counted, tally = counting_redis(service_urls.redis_url)
    jobs = ArqJobQueue(counted)
    try:
        # Connected, and the script loaded, before counting.
        await jobs.enqueue_many([QueuedJob("tests.warm_up", (), "warm-up")])
        sent = {}
        for lines in (2, LINES):
            tally.reset()
            order_id = await place(session_factory, jobs, kitchen, order(product_ids[:lines]))
            sent[lines] = (tally.round_trips, tally.commands)
            [job] = [j for j in await redis.queued_jobs() if j.job_id.startswith("outbox:batch:")]
            assert job.function == outbox.HANDLE_BATCH_JOB
            assert sorted(job.args[0]) == sorted(
                map(str, await events_of(session_factory, order_id))
            )
            assert len(job.args[0]) == 1 + lines  # the buyer's and each supplier's
            await redis.delete(f"arq:job:{job.job_id}")
            await redis.zrem("arq:queue", job.job_id)
    finally:
        await counted.aclose()
    assert sent == {2: (1, ["EVALSHA"]), LINES: (1, ["EVALSHA"])}


async def test_a_placed_orders_batch_is_handled_by_the_worker(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    settings: Settings,
) -> None:
    product_ids = await one_supplier_each(client, actors, 3)
    kitchen = await actors.org("kitchen", "buyer", region_code=REGION)
    order_id = await place(session_factory, ArqJobQueue(redis), kitchen, order(product_ids))
    [job] = await redis.queued_jobs()
    assert job.function == outbox.HANDLE_BATCH_JOB
    await run_worker_burst(redis, settings)  # the production handlers
    async with session_factory() as session:
        unhandled = await session.scalar(
            text(
                "SELECT count(*) FROM outbox_events "
                "WHERE payload->>'order_id' = :o AND handled_at IS NULL"
            ),
            {"o": str(order_id)},
        )
    assert len(await events_of(session_factory, order_id)) == 4
    assert unhandled == 0


async def place(
    factory: async_sessionmaker[AsyncSession], jobs: ArqJobQueue, buyer: Actor, data: OrderCreate
) -> uuid.UUID:
    async with factory() as session:
        uow = UnitOfWork(session, jobs)
        placed = await OrderPlacement(uow).place(buyer_principal(buyer), data)
        await uow.commit()
    return placed.order.id


async def events_of(
    factory: async_sessionmaker[AsyncSession], order_id: uuid.UUID
) -> list[uuid.UUID]:
    async with factory() as session:
        found = await session.execute(
            text("SELECT id FROM outbox_events WHERE payload->>'order_id' = :o"),
            {"o": str(order_id)},
        )
        return list(found.scalars())
