"""Standing orders are placed by the worker's own schedule, not by anyone calling the job.

The worker runs here as `marketplace worker` runs it: arq's loop with `WorkerSettings`'
functions and cron list. A standing order for tomorrow is placed once after the worker
starts, and once still after it is restarted; a date that can't be placed shows on the
standing order with the reason.

A started worker runs every start-up cron, the outbox sweeper among them, so it is given a
database of its own: in the shared test database it would first work through every other
test's events.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import importlib
import inspect
import pkgutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import asyncpg
import msgspec
import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Worker, get_kwargs
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import marketplace
from marketplace.db import create_engine, create_session_factory, unit_of_work
from marketplace.migrations_runner import upgrade
from marketplace.orders import tasks as orders_tasks
from marketplace.orders.standing import StandingOrderService
from marketplace.settings import Settings
from marketplace.worker import WorkerSettings
from tests.builders.worker import gaps_between_runs
from tests.catalog import create_listing, create_product
from tests.support import Actor, Actors, ServiceUrls, local_today
from tests.test_consignment_migration import dsn

REGION = "35.76.02.1005"


def schedule_cron() -> CronJob:
    found = [
        c for c in WorkerSettings.cron_jobs if c.coroutine is orders_tasks.schedule_standing_orders
    ]
    assert len(found) == 1, "the standing-order schedule is not in the worker's cron list"
    return found[0]


def test_the_schedule_runs_at_start_and_every_hour() -> None:
    job = schedule_cron()
    assert job.name == orders_tasks.SCHEDULE_JOB
    assert job.run_at_startup  # a restarted worker catches up at once
    assert gaps_between_runs(job, 48) == {dt.timedelta(hours=1)}


def test_every_job_a_tasks_module_defines_is_registered_with_the_worker() -> None:
    """A job (a coroutine taking the worker's `ctx`) that is neither a worker function nor
    on the cron list never runs: the standing-order schedule once fell out this way."""
    registered = {inspect.unwrap(f.coroutine) for f in WorkerSettings.functions}  # type: ignore[attr-defined]
    registered |= {c.coroutine for c in WorkerSettings.cron_jobs}
    missing = []
    for found in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
        if not found.name.endswith(".tasks"):
            continue
        module = importlib.import_module(found.name)
        for name, function in inspect.getmembers(module, inspect.iscoroutinefunction):
            parameters = list(inspect.signature(function).parameters)
            own_job = function.__module__ == module.__name__ and parameters[:1] == ["ctx"]
            if own_job and function not in registered:
                missing.append(f"{found.name}.{name}")
    assert missing == []


class OwnDatabase(msgspec.Struct, frozen=True):
    settings: Settings
    client: AsyncTestClient[Litestar]
    actors: Actors
    session_factory: async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
async def own(settings: Settings) -> AsyncIterator[OwnDatabase]:
    """The app, and the worker, on a freshly migrated database of their own."""
    from marketplace.app import create_app

    assert settings.database_url is not None
    server = make_url(settings.database_url)
    admin = dsn(server.set(database="postgres").render_as_string(False))
    name = f"standing_{uuid.uuid4().hex[:10]}"
    await sql_admin(admin, f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(False)
    try:
        await asyncio.to_thread(upgrade, url)
        own_settings = msgspec.structs.replace(settings, database_url=url)
        engine = create_engine(url, pool_size=2, max_overflow=5)
        factory = create_session_factory(engine)
        async with AsyncTestClient(
            app=create_app(own_settings), raise_server_exceptions=False
        ) as client:
            yield OwnDatabase(
                settings=own_settings,
                client=client,
                actors=Actors(client, factory),
                session_factory=factory,
            )
        await engine.dispose()
    finally:
        await sql_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def sql_admin(admin_dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def worker_redis(service_urls: ServiceUrls) -> RedisSettings:
    """Where the worker reads its queue (each run opens, and closes, its own pool)."""
    return RedisSettings.from_dsn(service_urls.redis_url)


async def run_worker_until(
    redis_settings: RedisSettings,
    settings: Settings,
    done: Callable[[Worker], Awaitable[bool]],
    *,
    within: float = 60.0,
) -> None:
    """Start a fresh worker process's loop (its own copy of the cron list, as a new
    process has), wait until `done()` is true, then stop it as SIGTERM would."""
    kwargs = get_kwargs(cast(Any, WorkerSettings))
    kwargs["cron_jobs"] = [copy.copy(c) for c in WorkerSettings.cron_jobs]
    for job in kwargs["cron_jobs"]:
        job.next_run = None
    worker = Worker(
        **{**kwargs, "handle_signals": False, "poll_delay": 0.05},
        redis_pool=await create_pool(redis_settings),
        ctx={"settings": settings},
    )
    running = asyncio.create_task(worker.async_run())
    try:
        async with asyncio.timeout(within):
            while not await done(worker):
                if running.done():
                    running.result()  # the worker died: say why
                await asyncio.sleep(0.2)
    finally:
        running.cancel()
        for job in worker.tasks.values():  # jobs still in flight, as SIGTERM cancels them
            job.cancel()
        await asyncio.gather(running, *worker.tasks.values(), return_exceptions=True)
        worker.tasks.clear()  # arq's close() would re-raise their cancellation
        await worker.close()


async def standing_order(
    client: AsyncTestClient[Litestar], kitchen: Actor, product_id: str, day: dt.date
) -> dict[str, Any]:
    created = await client.post(
        "/v1/standing-orders",
        json={
            "name": "Menu H-1",
            "weekdays": {str(day.isoweekday()): [{"product_id": product_id, "quantity": 4}]},
            "delivery": {"region_code": REGION, "address": "Dapur SPPG"},
        },
        headers=kitchen.headers,
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def test_a_started_worker_places_tomorrows_standing_order_once_across_restarts(
    own: OwnDatabase, worker_redis: RedisSettings
) -> None:
    client, actors, settings = own.client, own.actors, own.settings
    admin = await actors.platform_admin()
    coop = await actors.org("cooperative", "seller", region_code=REGION)
    kitchen = await actors.org("kitchen", "buyer", region_code=REGION)
    product = await create_product(client, admin, price_caps=[], bulog_supplied=False)
    await create_listing(client, coop, product["id"], tiers=[(1, 60_000)], stock=100)
    tomorrow = local_today() + dt.timedelta(days=1)
    standing = await standing_order(client, kitchen, product["id"], tomorrow)

    async def orders() -> list[dict[str, Any]]:
        found = await client.get("/v1/orders", headers=kitchen.headers)
        items: list[dict[str, Any]] = found.json()["items"]
        return items

    async def placed(worker: Worker) -> bool:
        return len(await orders()) > 0

    await run_worker_until(worker_redis, settings, placed)

    startup_runs = sum(c.run_at_startup for c in WorkerSettings.cron_jobs)

    async def ran_its_startup_jobs(worker: Worker) -> bool:
        # The restarted worker ran its start-up crons (the schedule among them) and
        # whatever they enqueued.
        finished = worker.jobs_complete + worker.jobs_failed
        return finished >= startup_runs and await worker.pool.zcard(worker.queue_name) == 0

    await run_worker_until(worker_redis, settings, ran_its_startup_jobs)

    found = await orders()
    assert [(o["standing_order_id"], o["delivery"]["date"]) for o in found] == [
        (standing["id"], tomorrow.isoformat())
    ]
    assert found[0]["lines"][0]["quantity"] == 4
    shown = (
        await client.get(f"/v1/standing-orders/{standing['id']}", headers=kitchen.headers)
    ).json()
    assert [(r["delivery_date"], r["outcome"], r["order_id"]) for r in shown["recent_runs"]] == [
        (tomorrow.isoformat(), "placed", found[0]["id"])
    ]


async def test_a_date_that_cannot_be_placed_shows_why_on_the_standing_order(
    own: OwnDatabase, worker_redis: RedisSettings
) -> None:
    client, actors, settings = own.client, own.actors, own.settings
    session_factory = own.session_factory
    admin = await actors.platform_admin()
    coop = await actors.org("cooperative", "seller", region_code=REGION)
    kitchen = await actors.org("kitchen", "buyer", region_code=REGION)
    product = await create_product(client, admin, price_caps=[], bulog_supplied=False)
    tomorrow = local_today() + dt.timedelta(days=1)
    standing = await standing_order(client, kitchen, product["id"], tomorrow)

    # Nobody sells the product yet: the worker's start-up schedule tries it and fails.
    url = f"/v1/standing-orders/{standing['id']}"

    async def runs_of_standing() -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = (await client.get(url, headers=kitchen.headers)).json()[
            "recent_runs"
        ]
        return runs

    async def tried(worker: Worker) -> bool:
        return bool(await runs_of_standing())

    await run_worker_until(worker_redis, settings, tried)
    runs = await runs_of_standing()
    assert [(r["delivery_date"], r["outcome"], r["order_id"], r["attempts"]) for r in runs] == [
        (tomorrow.isoformat(), "failed", None, 1)
    ]
    assert runs[0]["problem_code"] == "orders.insufficient_supply"
    assert runs[0]["problem_detail"]

    # A listing appears; the next hour's attempt places it and the run says so.
    await create_listing(client, coop, product["id"], tiers=[(1, 60_000)], stock=100)
    async with unit_of_work(session_factory) as uow:
        order_id = await StandingOrderService(uow).materialize(uuid.UUID(standing["id"]), tomorrow)
        await uow.commit()
    runs = (await client.get(url, headers=kitchen.headers)).json()["recent_runs"]
    assert [(r["outcome"], r["order_id"], r["attempts"], r["problem_code"]) for r in runs] == [
        ("placed", str(order_id), 2, None)
    ]
