"""The battery's checks. Each returns counts that must be zero, with what it did."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field

import asyncpg

from reliability.api import Api


@dataclass
class Count:
    name: str
    count: int
    detail: str
    samples: list[str] = field(default_factory=list)


async def oversell(api: Api, seeds: int) -> list[Count]:
    """Seeds of 50-200 concurrent orders against a listing with 1-50 units."""
    _, seller = await api.organization("cooperative", "seller")
    buyers = [(await api.organization("food_stall", "buyer"))[1] for _ in range(10)]
    oversold = server_errors = wrong_refusals = 0
    attempted = sold_total = 0
    for seed in range(seeds):
        rng = random.Random(seed)
        stock = rng.randint(1, 50)
        clients = rng.randint(50, 200)
        product = await api.product()  # its only listing is this one
        listing = await api.listing(seller, product, stock)
        quantities = [rng.randint(1, 3) for _ in range(clients)]
        responses = await asyncio.gather(
            *(api.place(buyers[i % len(buyers)], product, q) for i, q in enumerate(quantities))
        )
        sold = sum(q for q, r in zip(quantities, responses, strict=True) if r.status_code == 201)
        server_errors += sum(1 for r in responses if r.status_code >= 500)
        wrong_refusals += sum(
            1
            for r in responses
            if r.status_code not in (201, 422)
            or (r.status_code == 422 and r.json().get("code") != "orders.insufficient_supply")
        )
        state = await api.ok("GET", f"/v1/listings/{listing}", seller)
        oversold += max(0, sold - stock) + int(state["reserved"] > state["on_hand"])
        oversold += abs(state["reserved"] - sold)  # every sold unit reserved, nothing else
        attempted += clients
        sold_total += sold
    detail = f"{seeds} seeds, {attempted} concurrent orders, {sold_total} units sold"
    return [
        Count("oversold units (orders beyond stock)", oversold, detail),
        Count("server errors under concurrent orders", server_errors, detail),
        Count("orders refused with a wrong status", wrong_refusals, detail),
    ]


async def idempotent_orders(api: Api, rounds: int) -> list[Count]:
    """The same Idempotency-Key replayed 30 times at once: one order, identical answers."""
    product = await api.product()
    _, seller = await api.organization("cooperative", "seller")
    await api.listing(seller, product, 10_000)
    duplicates = 0
    for _ in range(rounds):
        _, buyer = await api.organization("food_stall", "buyer")
        key = uuid.uuid4().hex
        responses = await asyncio.gather(*(api.place(buyer, product, 2, key) for _ in range(30)))
        bodies = {r.text for r in responses if r.status_code == 201}
        orders = await api.ok("GET", "/v1/orders", buyer)
        duplicates += (len(orders["items"]) - 1) + (len(bodies) - 1)
        duplicates += sum(1 for r in responses if r.status_code != 201)
    return [
        Count(
            "duplicate effects of Idempotency-Key replays (orders)",
            duplicates,
            f"{rounds} keys x 30 concurrent replays",
        )
    ]


async def ledger_balanced(dsn: str) -> list[Count]:
    conn = await asyncpg.connect(dsn)
    try:
        unbalanced = await conn.fetchval(
            """SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries
               GROUP BY transaction_id HAVING sum(amount) <> 0) t"""
        )
        transactions = await conn.fetchval("SELECT count(*) FROM ledger_transactions")
    finally:
        await conn.close()
    return [
        Count(
            "ledger transactions not summing to zero",
            int(unbalanced),
            f"{transactions} transactions",
        )
    ]


async def stock_consistent(dsn: str) -> list[Count]:
    """No partial writes: reservations equal the reserved legs; orders have legs."""
    conn = await asyncpg.connect(dsn)
    try:
        mismatched = await conn.fetchval(
            """
            SELECT count(*) FROM listings l
            LEFT JOIN (SELECT listing_id, sum(quantity) AS q FROM order_legs
                       WHERE status = 'reserved' AND kind IN ('stock', 'consignment')
                       GROUP BY listing_id) r ON r.listing_id = l.id
            WHERE l.supply_mode = 'stock' AND l.reserved <> coalesce(r.q, 0)
            """
        )
        orphans = await conn.fetchval(
            """SELECT count(*) FROM orders o
               WHERE NOT EXISTS (SELECT 1 FROM order_legs g WHERE g.order_id = o.id)"""
        )
        movements_off = await conn.fetchval(
            """
            SELECT count(*) FROM listings l
            JOIN (SELECT listing_id, sum(on_hand_delta) AS oh, sum(reserved_delta) AS rs
                  FROM stock_movements GROUP BY listing_id) m ON m.listing_id = l.id
            WHERE m.oh <> l.on_hand OR m.rs <> l.reserved
            """
        )
    finally:
        await conn.close()
    return [
        Count("listings whose reservations differ from reserved legs", int(mismatched), ""),
        Count("orders without legs (partial writes)", int(orphans), ""),
        Count("listings whose movement log differs from their stock", int(movements_off), ""),
    ]


async def connections_killed_under_load(api: Api, dsn: str) -> list[Count]:
    """Kill the API's database connections while orders are placed; the pool recovers
    and no order is half-written."""
    product = await api.product()
    _, seller = await api.organization("cooperative", "seller")
    await api.listing(seller, product, 100_000)
    buyers = [(await api.organization("food_stall", "buyer"))[1] for _ in range(5)]
    killer = await asyncpg.connect(dsn)
    stop = asyncio.Event()
    kills = 0

    async def kill_loop() -> None:
        nonlocal kills
        while not stop.is_set():
            kills += await killer.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE application_name = 'marketplace' AND pid <> pg_backend_pid()"""
            )
            await asyncio.sleep(0.15)

    killing = asyncio.create_task(kill_loop())
    results = []
    for wave in range(6):
        results += await asyncio.gather(
            *(api.place(buyers[i % 5], product, 1) for i in range(40)), return_exceptions=True
        )
        del wave
    stop.set()
    await killing
    await killer.close()
    # After the storm, the pool must serve again.
    await asyncio.sleep(1)
    recovered = 0
    for _ in range(10):
        if (await api.place(buyers[0], product, 1)).status_code == 201:
            recovered += 1
    failed = sum(1 for r in results if isinstance(r, Exception) or r.status_code != 201)
    return [
        Count(
            "requests not recovered after connections were killed",
            10 - recovered,
            f"{kills} connections killed during {len(results)} orders; "
            f"{failed} orders failed cleanly during the storm (allowed)",
        )
    ]


async def queue_lost(database_url: str, redis_url: str, events: int = 200) -> list[Count]:
    """Redis loses every queued job (as a restart without persistence does); the outbox
    sweeper re-enqueues, and every event is handled exactly once."""
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker

    from marketplace import outbox
    from marketplace.db import create_engine, create_session_factory, unit_of_work
    from marketplace.jobs import ArqJobQueue
    from marketplace.settings import Settings
    from marketplace.worker import WorkerSettings

    engine = create_engine(database_url, pool_size=2, max_overflow=2)
    factory = create_session_factory(engine)
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    seen: list[uuid.UUID] = []

    async def count(uow: object, event: outbox.OutboxEvent) -> None:
        seen.append(event.id)

    handlers = outbox.EventHandlers()
    handlers.register("battery.ping", count)
    try:
        ids = []
        async with unit_of_work(factory, ArqJobQueue(redis)) as uow:
            ids = [outbox.emit(uow, "battery.ping", {"n": i}) for i in range(events)]
            await uow.commit()  # jobs enqueued after commit
        queued = len(await redis.queued_jobs())
        await redis.flushall()  # the restart: every queued job is gone
        async with unit_of_work(factory, ArqJobQueue(redis)) as uow:
            import datetime as dt

            await outbox.sweep(uow, stale_after=dt.timedelta(0))
        worker = Worker(
            functions=WorkerSettings.functions,
            redis_pool=redis,
            burst=True,
            on_startup=WorkerSettings.on_startup,
            on_shutdown=WorkerSettings.on_shutdown,
            ctx={"settings": Settings(database_url=database_url, redis_url=redis_url),
                 "handlers": handlers},
            handle_signals=False,
            max_jobs=20,
        )  # fmt: skip
        await worker.async_run()
        await worker.close()
    finally:
        await engine.dispose()
    lost = len(set(ids) - set(seen))
    twice = len(seen) - len(set(seen))
    detail = f"{events} events, {queued} jobs queued then flushed, re-enqueued by the sweeper"
    return [
        Count("outbox events lost after Redis lost its queue", lost, detail),
        Count("outbox events handled twice", twice, detail),
    ]
