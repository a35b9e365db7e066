"""Order placement (issues 4, 19): orders/s vs raw asyncpg, round trips, the split engine.

- Seeds 250 products, 200 sellers (cooperatives and UMKM) and 10 listings per product
  with plenty of stock (2,500 listings; a 200-line order has 2,000 candidate sources, of
  which placement reads the best 4 per product: `orders.sources.CANDIDATES_PER_PRODUCT`).
- Places 20-line and 200-line orders for an MBG kitchen through `OrderPlacement.place`
  (the service the controller calls), one unit of work and one commit per order, on the
  production engine settings (`marketplace.db.create_engine`), sequentially, with the
  real job queue (arq on the bench's Redis, the API's enqueue timeout): the outbox's
  events enqueued after commit, before the placement returns.
- Baselines, same run: the same orders placed with the outbox's old enqueue (one
  `outbox.handle` job per event through arq's `enqueue_job`, three round trips each);
  and the statements one placement sent (captured at the driver with
  `before_cursor_execute`) replayed with their parameters through plain asyncpg (SQL
  only, no Redis), one transaction per order, fresh ids each time, each order's script
  built before the timer starts. The three alternate in small batches, so all see the
  same machine (on 2 shared cores, a placement phase followed by a replay phase measured
  whatever load each phase happened to meet). Redis round trips are counted at the
  client (each write to the socket); jobs as the queue's growth.
- Counts SQL statements per order (`before_cursor_execute`), commits (`commit` event) and
  pool checkouts; BEGIN and COMMIT are round trips on top (the pool checks a connection
  out without one: no pre-ping).
- Times the pure split engine: 200 and 20 lines against 2,000 candidate listings.

Targets: placement ≥ 0.8 x asyncpg (#19 item 3; 0.5 before); statements per order
independent of the line count; one commit per order; split of 200 lines well under 10 ms
and ≤ ~12 x the 20-line time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import time
import uuid
import zoneinfo
from collections.abc import Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from arq.connections import ArqRedis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.harness import Result, Section, Services, asyncpg_dsn, median
from bench.seed import (
    CITIES,
    KITCHEN_REGION,
    SeededProduct,
    insert_products,
    insert_sellers,
    kitchen_with_key,
    tiers_sql,
)
from marketplace import driver, outbox
from marketplace.accounts.domain import Principal
from marketplace.db import UnitOfWork, create_engine, create_session_factory
from marketplace.heap import freeze_start_up_objects
from marketplace.jobs import QUEUE_KEY, ArqJobQueue, JobQueue, QueuedJob, connect_redis
from marketplace.listings.domain.pricing import PriceTier
from marketplace.orders.domain import splitting
from marketplace.orders.placement import OrderPlacement
from marketplace.orders.schemas import DeliveryIn, OrderCreate, OrderLineIn
from marketplace.settings import Settings

PRODUCTS = 250
SELLERS = 200
PER_PRODUCT = 10
SIZES = (20, 200)
# Per order size: (most orders, seconds for both placements and replays together, orders
# per alternating batch).
BUDGET = {20: (300, 27.0, 10), 200: (60, 45.0, 3)}
SPLIT_CANDIDATES = 2_000
# The Redis database the placements enqueue into (emptied between batches, as if a worker
# kept up with the queue).
BENCH_REDIS_DATABASE = 9


async def seed(
    database_url: str, *, products: int = PRODUCTS, random_seed: float = 0.7
) -> list[SeededProduct]:
    """`products` products, each sold by `PER_PRODUCT` of `SELLERS` sellers with plenty of
    stock (the capacity benchmark seeds more products the same way)."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute("SELECT setseed($1)", random_seed)
        seeded = await insert_products(conn, products)
        await insert_sellers(
            conn, SELLERS, kinds_sql="CASE WHEN g % 5 = 0 THEN 'umkm' ELSE 'cooperative' END"
        )
        # Product p is sold by sellers (7p + 20k) mod 200, k < 10: distinct per product.
        await conn.execute(
            f"""
            INSERT INTO listings (id, seller_organization_id, owner_organization_id, product_id,
                                  seller_kind, category, region_code, tiers, base_unit_price,
                                  min_order_quantity, on_hand, reserved, supply_mode, status,
                                  created_at, updated_at)
            SELECT gen_random_uuid(), s.id, s.id, p.id, s.kind, p.category, s.region_code,
                   {tiers_sql("x.price")}, x.price, 1, 1000000000, 0, 'stock', 'active',
                   now(), now()
            FROM bench_products p
            CROSS JOIN generate_series(0, {PER_PRODUCT - 1}) AS k
            JOIN bench_sellers s ON s.n = (p.n * 7 + k * 20) % {SELLERS}
            CROSS JOIN LATERAL (
                SELECT (p.price * (85 + (random() * 15)::int + k * 0) / 100)::bigint AS price
            ) AS x
            """
        )
        await conn.execute("ANALYZE")
        return seeded
    finally:
        await conn.close()


def orderable_products(products: Sequence[SeededProduct]) -> list[SeededProduct]:
    """What a kitchen may order: SPHP rice is for retail consumers only."""
    return [p for p in products if p.name and "SPHP" not in p.name]


def order_request(products: Sequence[SeededProduct], lines: int, rng: random.Random) -> OrderCreate:
    chosen = rng.sample(list(products), lines)
    tomorrow = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Jakarta")).date() + dt.timedelta(days=1)
    return OrderCreate(
        lines=[OrderLineIn(product_id=p.id, quantity=rng.randint(5, 60)) for p in chosen],
        delivery=DeliveryIn(
            date=tomorrow,
            region_code=KITCHEN_REGION,
            address="SPPG Prajurit Kulon, Jl. Empunala No. 12, Kota Mojokerto",
        ),
        notes="menu: nasi, telur, sayur bayam, tempe",
    )


class Counters:
    """Statements, commits and pool checkouts an engine performs; optionally captures
    each statement with its parameters."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.statements = 0
        self.commits = 0
        self.checkouts = 0
        self.capture: list[tuple[str, Any, bool]] | None = None

    def _execute(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        self.statements += 1
        if self.capture is not None:
            self.capture.append((statement, params, many))

    def _commit(self, conn: Any) -> None:
        self.commits += 1

    def _checkout(self, *args: Any) -> None:
        self.checkouts += 1

    def _driver_statement(self, statement: str, arguments: Sequence[Any]) -> None:
        self._execute(None, None, statement, tuple(arguments), None, False)

    def attach(self) -> None:
        sync = self.engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._execute)
        # Placement's hottest statements go to the driver (`marketplace.driver`).
        driver.observers.append(self._driver_statement)
        event.listen(sync, "commit", self._commit)
        event.listen(sync.pool, "checkout", self._checkout)

    def detach(self) -> None:
        driver.observers.remove(self._driver_statement)

    def reset(self) -> None:
        self.statements = self.commits = self.checkouts = 0


class PerEventJobQueue:
    """The outbox's enqueue before batches (the baseline): each event its own
    `outbox.handle` job, enqueued one after the other through arq's `enqueue_job` (WATCH,
    EXISTS, MULTI/…/EXEC: three round trips each)."""

    def __init__(self, queue: ArqJobQueue) -> None:
        self.queue = queue

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        await self.queue.enqueue(name, *args, job_id=job_id)

    async def enqueue_many(self, jobs: Sequence[QueuedJob]) -> int:
        for job in jobs:
            event_ids = job.args[0] if job.name == outbox.HANDLE_BATCH_JOB else job.args[:1]
            for event_id in event_ids:
                await self.queue.enqueue(
                    outbox.HANDLE_JOB, event_id, job_id=outbox.job_id_for(uuid.UUID(event_id))
                )
        return len(jobs)


def count_round_trips(redis: ArqRedis) -> list[int]:
    """A one-item list counting the writes `redis` sends (a round trip each: a pipeline's
    commands go in one write) from now on."""
    sent = [0]
    pool = redis.connection_pool
    plain = pool.connection_class

    class Counting(plain):  # type: ignore[valid-type,misc]
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            sent[0] += 1
            await super().send_packed_command(command, check_health)

    pool.connection_class = Counting
    return sent


class Arm(NamedTuple):
    """One way of placing, with its timing and Redis counts."""

    name: str
    jobs: JobQueue | None
    seconds: float = 0.0
    round_trips: int = 0
    queued: int = 0  # jobs
    events: int = 0


class Measured(NamedTuple):
    orm_rate: float  # with the real queue, batched (production)
    per_event_rate: float  # with the real queue, one job per event (the old way)
    raw_rate: float
    orders: int  # placed by each way (the counters count both)
    counters: Counters
    captured: list[tuple[str, Any, bool]]
    arms: dict[str, Arm]


async def measure(
    database_url: str,
    redis_url: str,
    principal: Principal,
    requests: Sequence[OrderCreate],
    *,
    max_seconds: float,
    batch: int,
) -> Measured:
    """Places 3 warm-up orders, captures the statements of a fourth, then alternates a
    batch of placements with the real job queue (timed, counted), as many placements
    enqueuing one job per event (timed) and as many replays of the captured statements
    through plain asyncpg (timed; their scripts built before the timer) until the
    requests or `max_seconds` run out."""
    engine = create_engine(database_url)
    counters = Counters(engine)
    counters.attach()
    factory = create_session_factory(engine)
    dsn = asyncpg_dsn(database_url)
    settings = Settings()
    redis = connect_redis(redis_url, timeout=settings.redis_timeout_seconds)
    sent = count_round_trips(redis)
    queue = ArqJobQueue(redis)
    arms = {
        "batched": Arm("batched", queue),
        "per_event": Arm("per_event", PerEventJobQueue(queue)),
    }

    async def place(data: OrderCreate, jobs: JobQueue | None) -> None:
        async with factory() as session:
            # As the API's unit of work (`dependencies.provide_uow`) is made.
            uow = UnitOfWork(
                session, jobs, after_commit_timeout=settings.job_enqueue_timeout_seconds
            )
            try:
                placed = await OrderPlacement(uow).place(principal, data)
                await uow.commit()
            finally:
                if not uow.committed:
                    await uow.rollback()
        assert placed.legs

    conn: asyncpg.Connection | None = None
    # As the API and worker do once started (`marketplace.heap`).
    freeze_start_up_objects()
    try:
        await redis.flushdb()
        for data in requests[:3]:
            await place(data, queue)
        counters.capture = []
        await place(requests[3], queue)
        captured, counters.capture = counters.capture, None
        replay = Replay(captured, await known_ids(dsn))
        conn = await asyncpg.connect(dsn)
        raw = conn

        async def replay_one(script: list[tuple[str, Any, bool]]) -> None:
            async with raw.transaction():
                for statement, params, many in script:
                    if many:  # only real executemany rows are marked by `script`
                        await raw.executemany(statement, params)
                    else:
                        await raw.fetch(statement, *params)

        for _ in range(3):
            await replay_one(replay.script())
        counters.reset()
        done, raw_seconds = 0, 0.0
        pending = list(requests[4:])
        while pending and sum(a.seconds for a in arms.values()) + raw_seconds < max_seconds:
            chunk, pending = pending[:batch], pending[batch:]
            # Both ways place the same orders, first one then the other, then the reverse.
            for arm_name in ("batched", "per_event")[:: 1 if done % (2 * batch) == 0 else -1]:
                arm = arms[arm_name]
                sent[0], queued_before = 0, await redis.zcard(QUEUE_KEY)
                events_before = await conn.fetchval("SELECT count(*) FROM outbox_events")
                started = time.perf_counter()
                for data in chunk:
                    await place(data, arm.jobs)
                elapsed = time.perf_counter() - started
                events = await conn.fetchval("SELECT count(*) FROM outbox_events")
                arms[arm_name] = arm._replace(
                    seconds=arm.seconds + elapsed,
                    round_trips=arm.round_trips + sent[0],
                    queued=arm.queued + await redis.zcard(QUEUE_KEY) - queued_before,
                    events=arm.events + events - events_before,
                )
            scripts = [replay.script() for _ in chunk]
            started = time.perf_counter()
            for script in scripts:
                await replay_one(script)
            raw_seconds += time.perf_counter() - started
            done += len(chunk)
            await redis.flushdb()  # as if a worker kept up: no job left queued
        return Measured(
            done / arms["batched"].seconds,
            done / arms["per_event"].seconds,
            done / raw_seconds,
            done,
            counters,
            captured,
            arms,
        )
    finally:
        if conn is not None:
            await conn.close()
        counters.detach()
        await redis.flushdb()
        await redis.aclose()
        await engine.dispose()


async def known_ids(dsn: str) -> set[uuid.UUID]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id FROM organizations UNION ALL SELECT id FROM products "
            "UNION ALL SELECT id FROM listings UNION ALL SELECT id FROM api_keys"
        )
        return {r[0] for r in rows}
    finally:
        await conn.close()


def _is_executemany(statement: str, params: Any) -> bool:
    """A driver-level executemany (rows of parameters), as opposed to one batch of an
    "insertmanyvalues" INSERT, which the event also flags but sends as one statement."""
    placeholders = max((int(n) for n in re.findall(r"\$(\d+)", statement)), default=0)
    return bool(params) and len(params) != placeholders and isinstance(params[0], tuple | list)


class Replay:
    """The captured statements as a script for asyncpg: ids the placement generated
    (anything not already in the database) are replaced by fresh ones per order, also
    inside strings (stock-movement references, event payloads)."""

    def __init__(self, captured: list[tuple[str, Any, bool]], existing: set[uuid.UUID]) -> None:
        self.captured = captured
        self.new_ids: set[uuid.UUID] = set()
        for statement, params, many in captured:
            rows = params if many and _is_executemany(statement, params) else [params]
            for row in rows:
                self._collect(row, existing)
        self.new_texts = {str(i) for i in self.new_ids}

    def _collect(self, value: Any, existing: set[uuid.UUID]) -> None:
        if isinstance(value, uuid.UUID) and value not in existing:
            self.new_ids.add(value)
        elif isinstance(value, list | tuple):
            for item in value:
                self._collect(item, existing)

    def _map(self, value: Any, ids: dict[uuid.UUID, uuid.UUID], texts: dict[str, str]) -> Any:
        if isinstance(value, uuid.UUID):
            return ids.get(value, value)
        if isinstance(value, str) and len(value) >= 36:
            for old, new in texts.items():
                if old in value:
                    value = value.replace(old, new)
            return value
        if isinstance(value, list | tuple):
            return type(value)(self._map(v, ids, texts) for v in value)
        return value

    def script(self) -> list[tuple[str, Any, bool]]:
        ids = {old: uuid.uuid4() for old in self.new_ids}
        texts = {str(old): str(new) for old, new in ids.items()}
        out = []
        for statement, params, many in self.captured:
            if many and _is_executemany(statement, params):
                out.append((statement, [self._map(tuple(r), ids, texts) for r in params], True))
            else:
                out.append((statement, self._map(tuple(params), ids, texts), False))
        return out


def events_note(arm: Arm, orders: int) -> str:
    return (
        f"{arm.events / orders:.0f} outbox events, {arm.queued / orders:.0f} jobs and "
        f"{arm.round_trips / orders:.0f} Redis round trips per order"
    )


def own_redis_database(url: str, number: int) -> str:
    """`url` pointed at Redis database `number` (a `db` query parameter, which redis-py
    reads before a database in the path): the bench empties it."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"] + [("db", str(number))]
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- the split engine ---------------------------------------------------------------


def split_inputs(
    lines: int, rng: random.Random
) -> tuple[list[splitting.RequestedLine], list[splitting.Source], list[splitting.ProductRule]]:
    per_product = SPLIT_CANDIDATES // 200
    products = [uuid.uuid4() for _ in range(200)]
    # A listing's location is its seller's: 200 sellers, each in one village.
    sellers = [
        (uuid.uuid4(), f"{CITIES[n % len(CITIES)][0]}.0{1 + n % 9}.{1001 + n % 20}")
        for n in range(SELLERS)
    ]
    sources: list[splitting.Source] = []
    for p, product in enumerate(products):
        for k in range(per_product):
            seller, region_code = sellers[(p * 7 + k * 20) % SELLERS]
            price = rng.randint(10_000, 80_000)
            consigned = k % 4 == 0
            sources.append(
                splitting.StockSource(
                    listing_id=uuid.uuid4(),
                    product_id=product,
                    seller_org_id=seller,
                    owner_org_id=uuid.uuid4() if consigned else seller,
                    owner_kind="umkm" if consigned else "cooperative",
                    region_code=region_code,
                    # Small stock, so lines often need several legs.
                    available=rng.randint(5, 80),
                    min_order_quantity=rng.choice([1, 1, 1, 5, 10]),
                    tiers=(
                        PriceTier(1, price),
                        PriceTier(10, price * 97 // 100),
                        PriceTier(100, price * 94 // 100),
                    ),
                )
            )
    rules = [splitting.ProductRule(product_id=p) for p in products]
    requested = [
        splitting.RequestedLine(line_no=i + 1, product_id=products[i], quantity=rng.randint(5, 60))
        for i in range(lines)
    ]
    return requested, sources, rules


def time_split(lines: int, runs: int) -> tuple[float, float, int]:
    """(median ms, fastest ms, legs) of `runs` splits of the same input."""
    rng = random.Random(lines)
    requested, sources, rules = split_inputs(lines, rng)
    buyer = splitting.Buyer(
        organization_id=uuid.uuid4(), kind="kitchen", delivery_region_code=KITCHEN_REGION
    )
    plan = splitting.split_order(requested, sources, buyer, products=rules)
    for _ in range(5):
        splitting.split_order(requested, sources, buyer, products=rules)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        splitting.split_order(requested, sources, buyer, products=rules)
        samples.append((time.perf_counter() - start) * 1000)
    return median(samples), min(samples), len(plan.legs)


# --- the benchmark ------------------------------------------------------------------


def run(services: Services, section: Section) -> None:
    split_200, fastest_200, legs_200 = time_split(200, 300)
    split_20, fastest_20, legs_20 = time_split(20, 1000)
    section.add(
        Result(
            name="split engine: 200 lines x 2,000 candidate listings",
            figure=split_200,
            unit="ms median",
            target="well under 10 ms",
            notes=f"{legs_200} legs; pure function, 300 runs; fastest {fastest_200:.2f} ms",
        )
    )
    section.add(
        Result(
            name="split engine: 20 lines x 2,000 candidate listings",
            figure=split_20,
            unit="ms median",
            baseline=split_200,
            ratio=split_200 / split_20,
            target="200-line time ≤ ~12 x 20-line (ratio = 200/20)",
            notes=(
                f"{legs_20} legs; 1,000 runs; fastest {fastest_20:.2f} ms "
                f"(fastest-run ratio {fastest_200 / fastest_20:.1f})"
            ),
        )
    )

    redis_url = own_redis_database(services.redis_url, BENCH_REDIS_DATABASE)
    with services.database("orders") as database_url:
        started = time.perf_counter()
        products = asyncio.run(seed(database_url))
        section.note(
            f"Seeded {PRODUCTS} products, {SELLERS} sellers, {PRODUCTS * PER_PRODUCT:,} listings "
            f"in {time.perf_counter() - started:.1f} s. Buyer: an MBG kitchen in {KITCHEN_REGION} "
            "(no budget period). Orders are placed sequentially on one connection."
        )
        principal, _ = asyncio.run(kitchen_with_key(database_url))
        orderable = orderable_products(products)
        per_size: dict[int, tuple[float, Counters, int]] = {}
        for size in SIZES:
            most, seconds, batch = BUDGET[size]
            rng = random.Random(size)
            requests = [order_request(orderable, size, rng) for _ in range(most + 4)]
            rate, per_event_rate, raw_rate, done, counters, captured, arms = asyncio.run(
                measure(
                    database_url,
                    redis_url,
                    principal,
                    requests,
                    max_seconds=seconds,
                    batch=batch,
                )
            )
            # Both ways placed `done` orders: the counters saw 2 x done placements.
            per_size[size] = (rate, counters, 2 * done)
            statements = counters.statements / (2 * done)
            batched, per_event = arms["batched"], arms["per_event"]
            section.add(
                Result(
                    name=f"order placement: {size}-line orders (OrderPlacement, real job queue)",
                    figure=rate,
                    unit="orders/s",
                    baseline=raw_rate,
                    ratio=rate / raw_rate,
                    target="≥ 0.8 x raw asyncpg (#19)",
                    notes=(
                        f"{'meets' if rate / raw_rate >= 0.8 else 'MISSES'} target; {done} orders "
                        f"each way and as many replays, alternating in batches of {batch}; "
                        f"{1000 / rate:.1f} ms/order vs {1000 / raw_rate:.1f} ms replayed "
                        f"(SQL only, scripts built before the timer); {statements:.0f} "
                        f"statements/order; {events_note(batched, done)}"
                    ),
                )
            )
            section.add(
                Result(
                    name=f"order placement: {size}-line orders, batched vs one job per event",
                    figure=rate,
                    unit="orders/s",
                    baseline=per_event_rate,
                    ratio=rate / per_event_rate,
                    target="recorded (issue 19: one round trip per order)",
                    notes=(
                        f"{1000 / rate:.1f} vs {1000 / per_event_rate:.1f} ms/order; "
                        f"one job per event: {events_note(per_event, done)}"
                    ),
                )
            )
            section.note(
                f"Statements of one {size}-line placement (as captured and replayed):\n\n"
                + "\n".join(
                    f"{i + 1}. `{' '.join(s.split())[:110]}`"
                    + (f" (executemany x{len(p)})" if many and _is_executemany(s, p) else "")
                    for i, (s, p, many) in enumerate(captured)
                )
            )
        (_, c20, n20), (_, c200, n200) = per_size[20], per_size[200]  # placements
        s20, s200 = c20.statements / n20, c200.statements / n200
        section.add(
            Result(
                name="order placement: SQL statements per order, 200 vs 20 lines",
                figure=s200,
                unit="statements",
                baseline=s20,
                ratio=s200 / s20,
                target="does not grow with lines (ratio 1)",
                notes=(
                    f"cursor executes per order (incl. SAVEPOINT; COMMIT releases it); round "
                    f"trips add BEGIN + COMMIT = {s200 + 2:.0f} (200 lines) vs {s20 + 2:.0f} "
                    f"(20 lines); {c200.checkouts / n200:.0f} pool checkout per order, no pre-ping"
                ),
            )
        )
        section.add(
            Result(
                name="order placement: commits per order",
                figure=(c20.commits + c200.commits) / (n20 + n200),
                unit="commits",
                target="1",
                notes=f"{c20.commits + c200.commits} commits for {n20 + n200} orders",
            )
        )
