"""The battery's checks. Each returns counts that must be zero, with what it did."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import asyncpg
import httpx

from marketplace.events import Event
from reliability.api import Api
from reliability.processes import Receiver, WorkerProcess


@dataclass
class Count:
    name: str
    count: int
    detail: str
    samples: list[str] = field(default_factory=list)
    seconds: float | None = None  # how long the check took (on its first count)


async def timed(check: Awaitable[list[Count]]) -> list[Count]:
    """The check's counts, the first one carrying how long it took."""
    started = time.monotonic()
    counts = await check
    if counts:
        counts[0].seconds = time.monotonic() - started
    return counts


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
    results: list[httpx.Response | BaseException] = []
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
    failed = sum(1 for r in results if isinstance(r, BaseException) or r.status_code != 201)
    # A lost connection is the server's outage: 503 (retry later), never a 500 or no answer.
    unclean = [
        repr(r) if isinstance(r, BaseException) else f"{r.status_code} {r.text[:160]}"
        for r in results
        if isinstance(r, BaseException) or (r.status_code >= 500 and r.status_code != 503)
    ]
    detail = (
        f"{kills} connections killed during {len(results)} orders; {failed - len(unclean)} "
        "orders failed cleanly during the storm (allowed: 503 or a refusal)"
    )
    return [
        Count("requests not recovered after connections were killed", 10 - recovered, detail),
        Count(
            "orders answered with a server error other than 503 while connections were killed",
            len(unclean),
            detail,
            unclean[:3],
        ),
    ]


class BatteryPing(Event, frozen=True, kw_only=True):
    """The battery's own event: what the worker handles is counted, nothing else happens."""

    event_type: ClassVar[str] = "battery.ping"
    n: int


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

    async def count(uow: object, emitted: outbox.Emitted[BatteryPing]) -> None:
        seen.append(emitted.id)

    handlers = outbox.EventHandlers()
    handlers.register(BatteryPing, count)
    try:
        ids = []
        async with unit_of_work(factory, ArqJobQueue(redis)) as uow:
            ids = [outbox.emit(uow, BatteryPing(n=i)) for i in range(events)]
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
            ctx={"settings": Settings(database_url=database_url, redis_url=redis_url,
                                      log_level="WARNING"),
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


# --- awards and settlement runs: Idempotency-Key replays ---------------------------------

PROMISE = (dt.date.today() + dt.timedelta(days=4)).isoformat()
RFQ_DELIVERY = (dt.date.today() + dt.timedelta(days=5)).isoformat()
REPLAYS = 30


async def _replay(
    api: Api, method: str, url: str, key: str, body: Any, replays: int = REPLAYS
) -> tuple[list[httpx.Response], int]:
    """`replays` concurrent requests with one Idempotency-Key: (responses, count of
    answers that are not one identical 201)."""
    headers = api.auth(key, **{"Idempotency-Key": uuid.uuid4().hex})
    responses = await asyncio.gather(
        *(api.client.request(method, url, json=body, headers=headers) for _ in range(replays))
    )
    created = [r for r in responses if r.status_code == 201]
    bad = (len(responses) - len(created)) + max(0, len({r.text for r in created}) - 1)
    return responses, bad


async def idempotent_awards(api: Api, dsn: str, rounds: int) -> list[Count]:
    """An RFQ awarded by 30 concurrent requests with one Idempotency-Key: one purchase
    order, one `procurement.purchase_order.created` event, 30 identical 201 answers."""
    _, office = await api.organization("government", "procurement", "35.76")
    coops = [
        (await api.organization("cooperative", "seller", f"35.76.0{n}.100{n}"))[1] for n in (1, 2)
    ]
    duplicates = 0
    samples: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        for round_no in range(rounds):
            product = await api.product()
            rfq = await api.ok(
                "POST",
                "/v1/procurement/rfqs",
                office,
                json={
                    "title": f"Beras untuk dapur umum {round_no}",
                    "items": [{"product_id": product, "quantity": 100}],
                    "delivery": {"date": RFQ_DELIVERY, "region_code": "35.76",
                                 "address": "Jl. Gajah Mada 100"},
                    "budget_code": "RUP-2026-35760-0042",
                    "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat(),
                    "evaluation_rule": "lowest_price",
                },
            )  # fmt: skip
            for n, coop in enumerate(coops):
                await api.ok(
                    "POST",
                    f"/v1/procurement/rfqs/{rfq['id']}/quotes",
                    coop,
                    json={
                        "lines": [{"line_no": 1, "unit_price": 60_000 - 500 * n}],
                        "delivery_promise_date": PROMISE,
                    },
                )
            # The deadline passes (the battery doesn't wait two hours).
            await conn.execute(
                "UPDATE sourcing_rfqs SET deadline = now() - interval '1 second' WHERE id = $1",
                uuid.UUID(rfq["id"]),
            )
            responses, bad = await _replay(
                api, "POST", f"/v1/procurement/rfqs/{rfq['id']}/award", office, {}
            )
            orders = await conn.fetch(
                "SELECT id FROM sourcing_purchase_orders WHERE rfq_id = $1", uuid.UUID(rfq["id"])
            )
            events = await conn.fetchval(
                """SELECT count(*) FROM outbox_events
                   WHERE topic = 'procurement.purchase_order.created'
                     AND payload->>'purchase_order_id' = ANY($1::text[])""",
                [str(r["id"]) for r in orders],
            )
            extra = bad + abs(len(orders) - 1) + abs(int(events) - 1)
            if extra:
                samples.append(
                    f"rfq {rfq['id']}: {len(orders)} purchase orders, {events} events, "
                    f"statuses {sorted(r.status_code for r in responses)}"
                )
            duplicates += extra
    finally:
        await conn.close()
    return [
        Count(
            "duplicate effects of Idempotency-Key replays (awards)",
            duplicates,
            f"{rounds} RFQs x {REPLAYS} concurrent award replays",
            samples,
        )
    ]


# --- consignment: a world of sales through the API ---------------------------------------

BANK = {"bank_name": "BRI", "account_number": "0123456789", "account_holder": "Bu Sri"}


@dataclass
class Consignment:
    """A cooperative selling two UMKMs' goods on consignment to a buyer, via the API."""

    cooperative_id: str
    coop_seller: str
    coop_finance: str
    buyer: str
    products: list[str]
    agreements: list[str]
    delivered_legs: dict[str, int] = field(default_factory=dict)  # leg id → units received


async def consignment_world(api: Api) -> Consignment:
    coop_id, coop_admin = await api.organization("cooperative", "admin")
    world = Consignment(
        cooperative_id=coop_id,
        coop_seller=await api.key(coop_id, "seller"),
        coop_finance=await api.key(coop_id, "finance"),
        buyer=(await api.organization("kitchen", "buyer"))[1],
        products=[],
        agreements=[],
    )
    for bps in (1000, 1750):
        umkm_id, umkm = await api.organization("umkm", "seller")
        agreement = await api.ok(
            "POST",
            "/v1/consignment/agreements",
            coop_admin,
            json={"consignor_id": umkm_id, "commission_bps": bps, "settlement_cycle_days": 7,
                  "payout_account": BANK},
        )  # fmt: skip
        product = await api.product()
        intake = await api.ok(
            "POST",
            "/v1/consignment/intakes",
            umkm,
            json={"agreement_id": agreement["id"], "product_id": product, "quantity": 5_000,
                  "unit_price": 60_000,
                  "expiry_date": (dt.date.today() + dt.timedelta(days=90)).isoformat()},
        )  # fmt: skip
        await api.ok(
            "POST",
            f"/v1/consignment/intakes/{intake['id']}/confirm",
            world.coop_seller,
            json={"received_quantity": 5_000},
        )
        world.products.append(product)
        world.agreements.append(agreement["id"])
    return world


async def sell(api: Api, world: Consignment, orders: int, rng: random.Random) -> None:
    """`orders` consignment orders placed, shipped and delivered (some short, some with
    nothing received), 8 at a time."""

    async def one(i: int) -> None:
        quantity = rng.randint(1, 4)
        received = quantity if i % 5 else rng.randint(0, quantity)
        response = await api.place(world.buyer, world.products[i % 2], quantity)
        if response.status_code != 201:
            raise RuntimeError(f"consignment order: {response.status_code} {response.text}")
        for leg in response.json()["legs"]:
            await api.ok("POST", f"/v1/legs/{leg['id']}/ship", world.coop_seller)
            await api.ok(
                "POST",
                f"/v1/legs/{leg['id']}/deliver",
                world.buyer,
                json={"received_quantity": received},
            )
            world.delivered_legs[leg["id"]] = received

    for start in range(0, orders, 8):
        await asyncio.gather(*(one(i) for i in range(start, min(orders, start + 8))))


class RecordedSale(NamedTuple):
    sold_at: dt.datetime
    leg_id: str


async def sales_recorded(dsn: str, world: Consignment) -> dict[str, RecordedSale]:
    """The cooperative's recorded sales by id, read from the sales themselves, never from
    how a statement claims them."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, sold_at, leg_id FROM consignment_sales WHERE cooperative_id = $1",
            uuid.UUID(world.cooperative_id),
        )
    finally:
        await conn.close()
    return {str(r["id"]): RecordedSale(r["sold_at"], str(r["leg_id"])) for r in rows}


async def wait_for_sales(dsn: str, world: Consignment, limit: float = 120) -> int:
    """Wait until the worker recorded a sale for every leg delivered with units."""
    expected = sum(1 for units in world.delivered_legs.values() if units > 0)
    deadline = time.monotonic() + limit
    while True:
        recorded = len(await sales_recorded(dsn, world))
        if recorded >= expected or time.monotonic() > deadline:
            return recorded
        await asyncio.sleep(0.5)


async def statements_of(api: Api, world: Consignment) -> dict[str, list[str]]:
    """Through the API: every statement of the cooperative → the ids of its sales."""
    statements: dict[str, list[str]] = {}
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = await api.ok("GET", "/v1/consignment/statements", world.coop_finance, params=params)
        for item in page["items"]:
            detail = await api.ok(
                "GET", f"/v1/consignment/statements/{item['id']}", world.coop_finance
            )
            statements[item["id"]] = [s["id"] for s in detail["sales"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return statements


async def idempotent_settlements(
    api: Api, dsn: str, world: Consignment
) -> tuple[list[Count], dt.datetime]:
    """A settlement run requested by 30 concurrent requests with one Idempotency-Key:
    one run, its statements once, 30 identical 201 answers."""
    before = await statements_of(api, world)
    conn = await asyncpg.connect(dsn)
    try:
        runs_before = await conn.fetchval(
            "SELECT count(*) FROM consignment_settlement_runs WHERE cooperative_id = $1",
            uuid.UUID(world.cooperative_id),
        )
        cutoff = dt.datetime.now(dt.UTC)
        responses, bad = await _replay(
            api,
            "POST",
            "/v1/consignment/settlement-runs",
            world.coop_finance,
            {"cutoff": cutoff.isoformat()},
        )
        runs_after = await conn.fetchval(
            "SELECT count(*) FROM consignment_settlement_runs WHERE cooperative_id = $1",
            uuid.UUID(world.cooperative_id),
        )
    finally:
        await conn.close()
    after = await statements_of(api, world)
    created = [r.json() for r in responses if r.status_code == 201]
    answered = {s["id"] for s in created[0]["statements"]} if created else set()
    new = set(after) - set(before)
    duplicates = bad + abs(int(runs_after) - int(runs_before) - 1) + len(new ^ answered)
    return [
        Count(
            "duplicate effects of Idempotency-Key replays (settlement runs)",
            duplicates,
            f"{REPLAYS} concurrent replays of one run: {len(answered)} statements, "
            f"{sum(len(after[s]) for s in answered)} sales",
            [f"statuses {sorted(r.status_code for r in responses)}"] if duplicates else [],
        )
    ], cutoff


async def settled_once(api: Api, dsn: str, world: Consignment, cutoff: dt.datetime) -> list[Count]:
    """Every sale before the cut-off in exactly one statement (statements read through
    the API, sales from the sales table); every delivered leg with units has one sale."""
    recorded = await sales_recorded(dsn, world)
    statements = await statements_of(api, world)
    times: dict[str, int] = {}
    for sale_ids in statements.values():
        for sale_id in sale_ids:
            times[sale_id] = times.get(sale_id, 0) + 1
    due = [sale for sale, recorded_sale in recorded.items() if recorded_sale.sold_at <= cutoff]
    twice = sum(n - 1 for n in times.values() if n > 1) + sum(
        1 for sale in times if sale not in recorded
    )
    never = sum(1 for sale in due if sale not in times)
    sold_legs = [sale.leg_id for sale in recorded.values()]
    expected_legs = {leg for leg, units in world.delivered_legs.items() if units > 0}
    unrecorded = len(expected_legs - set(sold_legs)) + (len(sold_legs) - len(set(sold_legs)))
    detail = (
        f"{len(recorded)} sales of {len(world.delivered_legs)} delivered legs, "
        f"{len(statements)} statements (read via GET /v1/consignment/statements/{{id}})"
    )
    return [
        Count("consignment sales settled twice", twice, detail),
        Count("consignment sales before the cut-off never settled", never, detail),
        Count("delivered consignment legs without exactly one sale", unrecorded, detail),
    ]


# --- faults: the worker SIGKILLed mid-settlement and mid-delivery -------------------------


async def _enqueue(redis_url: str, job: str) -> str:
    """Enqueue one run of a worker job (a cron job too: arq runs it by name)."""
    from arq import create_pool
    from arq.connections import RedisSettings

    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        job_id = f"battery:{job}:{uuid.uuid4().hex}"
        await redis.enqueue_job(job, _job_id=job_id)
        return job_id
    finally:
        await redis.aclose()


async def _job_done(redis_url: str, job_id: str, limit: float) -> bool:
    """Whether the job finished within `limit` seconds (arq deletes a job's key when it
    finishes; a cron job's in-progress mark outlives it, so the status won't do)."""
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.constants import job_key_prefix

    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not await redis.exists(job_key_prefix + job_id):
                return True
            await asyncio.sleep(0.2)
        return False
    finally:
        await redis.aclose()


async def worker_killed_mid_settlement(
    api: Api, dsn: str, redis_url: str, worker: WorkerProcess, world: Consignment
) -> tuple[list[Count], dt.datetime]:
    """The worker's settlement job (`consignment.settle_due`) SIGKILLed after it claimed
    the sales and before it committed, then restarted and run again: each sale settled
    once. To land the kill inside the run, the battery holds the row lock of the
    cooperative's agreements, which the run updates last; the worker is killed once its
    connection waits on that lock (or after 30 s, wherever it is). Returns the counts and
    the cut-off that covers every sale so far."""
    coop = uuid.UUID(world.cooperative_id)
    conn = await asyncpg.connect(dsn)
    blocker = await asyncpg.connect(dsn)
    try:
        # Their cycle elapsed (the battery doesn't wait seven days).
        await conn.execute(
            """UPDATE consignment_agreements SET created_at = now() - interval '8 days',
                      last_settled_at = NULL WHERE cooperative_id = $1""",
            coop,
        )
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute(
            "SELECT id FROM consignment_agreements WHERE cooperative_id = $1 FOR UPDATE", coop
        )
        blocker_pid = await blocker.fetchval("SELECT pg_backend_pid()")
        await _enqueue(redis_url, "consignment.settle_due")
        waited_on_lock = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                blocker_pid,
            )
            if waiting:
                waited_on_lock = True
                break
            await asyncio.sleep(0.05)
        worker.kill()
        await tx.rollback()
        left_behind = await conn.fetchval(
            "SELECT count(*) FROM consignment_settlement_runs WHERE cooperative_id = $1", coop
        )
        await worker.start()
        rerun = await _enqueue(redis_url, "consignment.settle_due")
        finished = await _job_done(redis_url, rerun, limit=120)
        runs = await conn.fetchval(
            "SELECT count(*) FROM consignment_settlement_runs WHERE cooperative_id = $1", coop
        )
        cutoff = await conn.fetchval(
            "SELECT max(cutoff) FROM consignment_settlement_runs WHERE cooperative_id = $1", coop
        )
    finally:
        await blocker.close()
        await conn.close()
    recorded = await sales_recorded(dsn, world)
    statements = await statements_of(api, world)
    in_statements = [sale for sales in statements.values() for sale in sales]
    problems = int(left_behind) + (0 if finished else 1) + (0 if runs == 1 else 1)
    problems += abs(len(in_statements) - len(recorded)) + len(set(recorded) - set(in_statements))
    detail = (
        f"killed {'while its run waited on the lock (claimed, not committed)' if waited_on_lock else 'after 30 s (the run never waited on the lock)'}; "  # noqa: E501
        f"{left_behind} runs left by the killed one; rerun settled {len(in_statements)} of "
        f"{len(recorded)} sales in {len(statements)} statements"
    )
    return [
        Count(
            "sales not settled exactly once after the worker was killed mid-run", problems, detail
        )
    ], cutoff or dt.datetime.now(dt.UTC)


async def worker_killed_mid_delivery(
    api: Api, dsn: str, worker: WorkerProcess, orders: int = 40, limit: float = 120
) -> list[Count]:
    """A partner subscribed to `order.placed`; its receiver takes 1 s per request. Once
    every order's event has fanned out to a delivery, the worker is SIGKILLed while
    deliveries are in flight, restarted, and every order's event must still reach the
    partner (at least once) within `limit` seconds."""
    org_id, buyer = await api.organization("food_stall", "buyer")
    admin = await api.key(org_id, "admin")
    product = await api.product()
    _, seller = await api.organization("cooperative", "seller")
    await api.listing(seller, product, 100_000)
    conn = await asyncpg.connect(dsn)
    try:
        with Receiver(delay=1.0) as receiver:
            endpoint = await api.ok(
                "POST",
                "/v1/webhook-endpoints",
                admin,
                json={"url": receiver.url, "event_types": ["order.placed"]},
            )
            responses = await asyncio.gather(*(api.place(buyer, product, 1) for _ in range(orders)))
            placed = {r.json()["id"] for r in responses if r.status_code == 201}
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                fanned_out = await conn.fetchval(
                    "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1",
                    uuid.UUID(endpoint["id"]),
                )
                if fanned_out >= len(placed) and receiver.in_flight:
                    break
                await asyncio.sleep(0.02)
            in_flight, before_kill = receiver.in_flight, len(receiver.snapshot())
            killed_at = time.monotonic()
            worker.kill()
            await worker.start()
            deadline = killed_at + limit
            while time.monotonic() < deadline:
                seen = {str(data.get("order_id")) for _, data in receiver.snapshot()}
                if placed <= seen:
                    break
                await asyncio.sleep(0.5)
            recovered_in = time.monotonic() - killed_at
            received = receiver.snapshot()
    finally:
        await conn.close()
    seen = {str(data.get("order_id")) for _, data in received}
    lost = len(placed - seen)
    duplicates = len(received) - len({webhook_id for webhook_id, _ in received})
    return [
        Count(
            "partner webhooks lost after the worker was killed mid-delivery",
            lost + (orders - len(placed)),
            f"{len(placed)} orders; killed with {in_flight} deliveries in flight after "
            f"{before_kill} arrived; "
            + (
                f"all arrived {recovered_in:.0f} s after the kill"
                if not lost
                else f"{lost} still missing {limit:.0f} s after the kill"
            )
            + f"; {duplicates} delivered twice (allowed: at least once)",
        )
    ]
