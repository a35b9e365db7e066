"""Consignment settlement of 100,000 and of 1,000,000 sales for 1,000 consignors (issues 5
and 19).

For each size, seeds one cooperative, 1,000 UMKM consignors with agreements and the
unsettled sales with SQL `generate_series` in a database of its own (ids are
time-ordered UUIDv7 like the application's, via PostgreSQL 18's `uuidv7()`; each sale
takes its record number from the sequence, as in the application), then, in the same run
and on the same rows:

* settlement vs GROUP BY: the single SQL `GROUP BY consignor_id` that totals the sales
  (the least any settlement must do: it reads no returns or adjustments and writes
  nothing) and a whole settlement run (`SettlementService.settle`: lock, one statement
  writing per consignor a statement over the range of record numbers after its previous
  one summed by an index-only range scan — nothing written on the sales — its payout and
  the agreement's cycle, then the 2,000 statement events), alternating for `ROUNDS`
  rounds after a warm-up of each, so both see the same cache and machine load; each run
  is rolled back after doing all its work so the next settles the same sales. Each side
  keeps one connection for all its rounds, as the worker's pool does (a statement
  prepared on a connection switches to PostgreSQL's generic plan from its sixth run).
  Medians and their ratio (targets: ≤ 1.5x at 1M sales, ≤ 2x at 100k, #19 item 5).

At 1M sales also:

* order placement while settlement runs execute: 20-line orders placed sequentially
  through `OrderPlacement.place` (as `bench/orders.py` does) in alternating 5 s phases —
  alone, during runs, alone, during the control, alone, during runs, alone — where "during
  runs" means another process runs settlements of the same 1M sales back to back (each
  rolled back as above) for the whole phase: a single run is shorter than a phase. Ratio =
  mean rate during runs / mean rate alone (target ≥ 0.8). The control phase runs the
  plain GROUP BY back to back instead (one backend, no parallel workers): what any
  CPU-bound query over the same rows costs placement on this machine.
* the committed run, once: its time and ratio (to the GROUP BY just before it), the
  process's max RSS, the peak Python memory of a run (tracemalloc, on an identical run
  rolled back just before: tracemalloc slows allocations, so the committed run is timed
  without it), totals checked against the GROUP BY, and the plans of the settlement
  statement and of the GROUP BY (EXPLAIN (ANALYZE, BUFFERS), rolled back) in the report.

Nothing is asserted on time. `python -m bench.consignment_settlement` or
`make bench b=consignment`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import random
import resource
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import asyncpg

from bench.harness import Result, Section, Services, asyncpg_dsn, start_services

CONSIGNORS = 1_000
SALES = 1_000_000  # the size of the placement, committed-run and plan figures
SIZES = (100_000, SALES)  # the interleaved comparison, smallest first
ORDER_LINES = 20
PHASES = 2  # placement phases during settlement runs (and PHASES - 1 during the control)
PHASE_SECONDS = 5.0
ROUNDS = 7


async def seed(dsn: str, sales: int = SALES) -> uuid.UUID:
    conn = await asyncpg.connect(dsn)
    try:
        coop = uuid.uuid4()
        await conn.execute(
            "INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone, "
            "vat_registered, created_at, updated_at) VALUES ($1, 'cooperative', 'KKMP Bench', "
            "'bench-kkmp', '35.76.02.1005', 'Kota Mojokerto', 'Asia/Jakarta', false, now(), "
            "now())",
            coop,
        )
        await conn.execute(
            """
            INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone,
                                       vat_registered, created_at, updated_at)
            SELECT gen_random_uuid(), 'umkm', 'UMKM ' || g, 'bench-umkm-' || g,
                   '35.76.02.1005', 'Kota Mojokerto', 'Asia/Jakarta', false, now(), now()
              FROM generate_series(1, $1) AS g
            """,
            CONSIGNORS,
        )
        await conn.execute(
            """
            INSERT INTO consignment_agreements (id, cooperative_id, consignor_id, commission_bps,
                settlement_cycle_days, bank_name, bank_account_number, bank_account_holder,
                status, created_at, updated_at)
            SELECT gen_random_uuid(), $1, o.id, 500 + (row_number() OVER (ORDER BY o.id) % 20)
                   * 100, 7, 'BRI', '0123456789', o.name, 'active', now(), now()
              FROM organizations o WHERE o.kind = 'umkm' AND o.slug LIKE 'bench-umkm-%'
            """,
            coop,
        )
        await conn.execute(
            """
            WITH a AS (
                SELECT id, consignor_id, commission_bps,
                       row_number() OVER (ORDER BY id) - 1 AS n
                  FROM consignment_agreements WHERE cooperative_id = $1
            )
            INSERT INTO consignment_sales (id, leg_id, order_id, listing_id, agreement_id,
                cooperative_id, consignor_id, buyer_id, product_id, quantity, unit_price,
                gross_amount, commission_bps, commission_amount, vat_amount, sold_at)
            SELECT uuidv7(), uuidv7(), uuidv7(), NULL, a.id, $1,
                   a.consignor_id, $1, $1, 1 + g % 7, 9_000 + g % 5_000,
                   (1 + g % 7) * (9_000 + g % 5_000), a.commission_bps,
                   (1 + g % 7) * (9_000 + g % 5_000) * a.commission_bps / 10000, 0,
                   now() - interval '2 days' + g * interval '100 milliseconds'
              FROM generate_series(1, $2) AS g
              JOIN a ON a.n = g % $3
            """,
            coop,
            sales,
            CONSIGNORS,
        )
        await conn.execute("VACUUM ANALYZE consignment_sales")
        await conn.execute("ANALYZE consignment_agreements")
        return coop
    finally:
        await conn.close()


GROUP_BY = """
SELECT consignor_id, count(*), sum(gross_amount), sum(commission_amount)
  FROM consignment_sales
 WHERE cooperative_id = $1 AND sold_at < $2
 GROUP BY consignor_id
"""


async def baseline(
    dsn: str, coop: uuid.UUID, cutoff: dt.datetime, *, repeat: int = 3
) -> tuple[float, int, int]:
    """Median seconds of `repeat` GROUP BYs, the sales counted and their gross."""
    conn = await asyncpg.connect(dsn)
    try:
        samples, rows = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            rows = await conn.fetch(GROUP_BY, coop, cutoff)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples), sum(r[1] for r in rows), sum(r[2] for r in rows)
    finally:
        await conn.close()


async def settle(
    database_url: str,
    coop: uuid.UUID,
    cutoff: dt.datetime,
    *,
    commit: bool = True,
    commit_seconds: list[float] | None = None,
) -> tuple[float, int]:
    """One settlement run, timed from the start of its transaction to its commit (or, with
    `commit=False`, to its rollback after doing all the work). The commit alone is
    appended to `commit_seconds`."""
    from marketplace.consignment.settlement_service import SettlementService
    from marketplace.db import create_engine, create_session_factory, unit_of_work

    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        factory = create_session_factory(engine)
        async with unit_of_work(factory) as uow:  # connect outside the timing
            await uow.session.connection()
            await uow.rollback()
        started = time.perf_counter()
        async with unit_of_work(factory) as uow:
            run = await SettlementService(uow).settle(coop, cutoff)
            worked = time.perf_counter()
            if commit:
                await uow.commit()
            else:
                await uow.rollback()
        if commit_seconds is not None:
            commit_seconds.append(time.perf_counter() - worked)
        return time.perf_counter() - started, run.sales_count
    finally:
        await engine.dispose()


@dataclass
class Rounds:
    """Seconds per round of each measure, and what the GROUP BY counted."""

    group_by: list[float] = field(default_factory=list)
    runs: list[float] = field(default_factory=list)
    # For where the time goes, not baselines: the GROUP BY without parallel workers (a
    # statement that writes, as the run's does, cannot have any) and the run's reading
    # part alone (its consignors, then the settlement statement without its writes).
    serial_group_by: list[float] = field(default_factory=list)
    reading: list[float] = field(default_factory=list)
    count: int = 0
    gross: int = 0


def reading_sql() -> str:
    """The settlement statement up to its sums (every consignor's range and totals), with
    none of its writes."""
    from marketplace.consignment.settlement_repository import SETTLE_SQL

    sql = str(SETTLE_SQL)
    return sql[: sql.index("), written AS (")] + ") SELECT * FROM t"


async def interleaved(
    dsn: str, database_url: str, coop: uuid.UUID, cutoff: dt.datetime, rounds: int
) -> Rounds:
    """`rounds` x (the GROUP BY, a whole settlement run rolled back, the serial GROUP BY,
    the run's reading part), alternating so all see the same cache and machine load; after
    one warm-up of each. Each keeps its connection for every round (the worker's pool
    does), so a plan that degrades once a statement has been prepared a few times shows
    here."""
    from sqlalchemy import text

    from marketplace.consignment.settlement_repository import (
        SettlementRepository,
        settle_parameters,
    )
    from marketplace.consignment.settlement_service import SettlementService
    from marketplace.db import create_engine, create_session_factory, unit_of_work
    from marketplace.ids import new_id

    conn = await asyncpg.connect(dsn)
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    factory = create_session_factory(engine)
    reading = text(reading_sql())

    async def group_by(*, serial: bool = False) -> tuple[float, int, int]:
        started = time.perf_counter()
        async with conn.transaction():
            if serial:
                await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            rows = await conn.fetch(GROUP_BY, coop, cutoff)
        return time.perf_counter() - started, sum(r[1] for r in rows), sum(r[2] for r in rows)

    async def settle_once() -> tuple[float, int]:
        started = time.perf_counter()
        async with unit_of_work(factory) as uow:
            run = await SettlementService(uow).settle(coop, cutoff)
            await uow.rollback()
        return time.perf_counter() - started, run.sales_count

    async def read_once() -> float:
        started = time.perf_counter()
        async with unit_of_work(factory) as uow:
            await uow.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            consignors = await SettlementRepository(uow.session).settlement_pairs(coop, None)
            params = settle_parameters(new_id(), coop, cutoff, consignors, cutoff)
            await uow.session.execute(reading, params)
            await uow.rollback()
        return time.perf_counter() - started

    try:
        async with unit_of_work(factory) as uow:  # connect outside the timing
            await uow.session.connection()
            await uow.rollback()
        measured = Rounds()
        await group_by()
        await settle_once()
        await group_by(serial=True)
        await read_once()
        for _ in range(rounds):
            seconds, measured.count, measured.gross = await group_by()
            measured.group_by.append(seconds)
            seconds, settled = await settle_once()
            if settled != measured.count:
                raise RuntimeError(
                    f"a run settled {settled} sales, the GROUP BY counts {measured.count}"
                )
            measured.runs.append(seconds)
            measured.serial_group_by.append((await group_by(serial=True))[0])
            measured.reading.append(await read_once())
        return measured
    finally:
        await engine.dispose()
        await conn.close()


async def explain(database_url: str, coop: uuid.UUID, cutoff: dt.datetime) -> tuple[str, str]:
    """The plans of the settlement statement (executed, EXPLAIN (ANALYZE, BUFFERS), rolled
    back) and of the GROUP BY."""
    from sqlalchemy import text

    from marketplace.consignment.settlement_repository import (
        SETTLE_SQL,
        SettlementRepository,
        settle_parameters,
    )
    from marketplace.db import create_engine, create_session_factory
    from marketplace.ids import new_id

    options = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) "
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with create_session_factory(engine)() as session:
            consignors = await SettlementRepository(session).settlement_pairs(coop, None)
            run_id = new_id()
            await session.execute(
                text(
                    "INSERT INTO consignment_settlement_runs (id, cooperative_id, cutoff, "
                    "statements_count, sales_count, payout_total) VALUES (:id, :c, :t, 0, 0, 0)"
                ),
                {"id": run_id, "c": coop, "t": cutoff},
            )
            rows = await session.execute(
                text(options + str(SETTLE_SQL)),
                settle_parameters(run_id, coop, cutoff, consignors, cutoff),
            )
            settle_plan = "\n".join(r[0] for r in rows)
            await session.rollback()
            rows = await session.execute(
                text(options + GROUP_BY.replace("$1", ":coop").replace("$2", ":cutoff")),
                {"coop": coop, "cutoff": cutoff},
            )
            group_by_plan = "\n".join(r[0] for r in rows)
            await session.rollback()
            return settle_plan, group_by_plan
    finally:
        await engine.dispose()


async def vacuum(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "VACUUM ANALYZE consignment_agreements, consignment_statements, "
            "consignment_payouts, consignment_settlement_runs, outbox_events"
        )
    finally:
        await conn.close()


async def settled_totals(dsn: str, coop: uuid.UUID) -> tuple[int, int, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT count(*), sum(sales_count), sum(gross_sales), "
            "(SELECT count(*) FROM consignment_payouts WHERE cooperative_id = $1) "
            "FROM consignment_statements WHERE cooperative_id = $1",
            coop,
        )
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])
    finally:
        await conn.close()


# --- order placement while settlement runs ---------------------------------------------


def background_loop(
    kind: str,
    database_url: str,
    coop: str,
    cutoff: str,
    started: Event,
    stop: Event,
    out: Queue[list[float]],
) -> None:
    """Child process, back to back until `stop`: settlement runs of the same sales, each
    rolled back after doing all its work (`kind` "settle"), or the plain GROUP BY on one
    backend without parallel workers ("group_by", the control). Puts the times (s) on
    `out`."""
    loop = _settlement_loop if kind == "settle" else _group_by_loop
    asyncio.run(loop(database_url, uuid.UUID(coop), cutoff, started, stop, out))


async def _group_by_loop(
    database_url: str,
    coop: uuid.UUID,
    cutoff: str,
    started: Event,
    stop: Event,
    out: Queue[list[float]],
) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    durations: list[float] = []
    try:
        await conn.execute("SET max_parallel_workers_per_gather = 0")
        while not stop.is_set():
            began = time.perf_counter()
            rows = await conn.fetch(GROUP_BY, coop, dt.datetime.fromisoformat(cutoff))
            durations.append(time.perf_counter() - began)
            if sum(r[1] for r in rows) != SALES:
                raise RuntimeError("the GROUP BY did not count every sale")
            started.set()
    finally:
        out.put(durations)
        await conn.close()


async def _settlement_loop(
    database_url: str,
    coop: uuid.UUID,
    cutoff: str,
    started: Event,
    stop: Event,
    out: Queue[list[float]],
) -> None:
    from marketplace.consignment.settlement_service import SettlementService
    from marketplace.db import create_engine, create_session_factory, unit_of_work

    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    factory = create_session_factory(engine)
    durations: list[float] = []
    try:
        while not stop.is_set():
            began = time.perf_counter()
            async with unit_of_work(factory) as uow:
                run = await SettlementService(uow).settle(coop, dt.datetime.fromisoformat(cutoff))
                await uow.rollback()
            durations.append(time.perf_counter() - began)
            if run.sales_count != SALES:
                raise RuntimeError(f"a run settled {run.sales_count} sales, not {SALES}")
            started.set()
    finally:
        out.put(durations)
        await engine.dispose()


async def place_for(
    database_url: str, principal: object, products: Sequence[object], seconds: float, seed: int
) -> tuple[float, int]:
    """Orders/s placing `ORDER_LINES`-line orders sequentially for `seconds` (3 warm-up
    orders first), one unit of work and one commit per order."""
    from bench.orders import order_request
    from marketplace.db import create_engine, create_session_factory, unit_of_work
    from marketplace.orders.placement import OrderPlacement

    rng = random.Random(seed)
    engine = create_engine(database_url)
    factory = create_session_factory(engine)

    async def place() -> None:
        data = order_request(products, ORDER_LINES, rng)  # type: ignore[arg-type]
        async with unit_of_work(factory) as uow:
            placed = await OrderPlacement(uow).place(principal, data)  # type: ignore[arg-type]
            await uow.commit()
        assert placed.legs

    try:
        for _ in range(3):
            await place()
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            await place()
            done += 1
        return done / (time.perf_counter() - started), done
    finally:
        await engine.dispose()


def placement_during_runs(
    section: Section, database_url: str, coop: uuid.UUID, cutoff: dt.datetime
) -> None:
    from bench.orders import orderable_products
    from bench.orders import seed as seed_orders
    from bench.seed import kitchen_with_key

    started = time.perf_counter()
    products = asyncio.run(seed_orders(database_url))
    principal, _ = asyncio.run(kitchen_with_key(database_url))
    orderable = orderable_products(products)
    section.note(
        f"Placement catalogue (bench/orders.py's seed) in {time.perf_counter() - started:.1f} s; "
        f"{ORDER_LINES}-line orders for an MBG kitchen, sequential, {PHASE_SECONDS:.0f} s per "
        "phase, alternating: alone, during back-to-back settlement runs (another process), "
        "alone, during the plain GROUP BY back to back (another process, one backend: the "
        "control), alone, …"
    )
    solo: list[tuple[float, int]] = []
    during: dict[str, list[tuple[float, int]]] = {"settle": [], "group_by": []}
    durations: dict[str, list[float]] = {"settle": [], "group_by": []}
    # alone, settle, alone, group_by, alone, settle, …: each loaded phase between two alone.
    loads = ["settle" if i % 2 == 0 else "group_by" for i in range(2 * PHASES - 1)]
    for phase, load in enumerate([None, *(x for kind in loads for x in (kind, None))]):
        if load is None:
            solo.append(
                asyncio.run(place_for(database_url, principal, orderable, PHASE_SECONDS, phase))
            )
            print(f"placement alone: {solo[-1][0]:.1f} orders/s ({solo[-1][1]})", flush=True)
            continue
        context = multiprocessing.get_context("spawn")
        first_run, stop = context.Event(), context.Event()
        out: Queue[list[float]] = context.Queue()
        worker = context.Process(
            target=background_loop,
            args=(load, database_url, str(coop), cutoff.isoformat(), first_run, stop, out),
            daemon=True,
        )
        worker.start()
        try:
            if not first_run.wait(timeout=120):
                raise RuntimeError(f"the {load} process did not finish a run")
            during[load].append(
                asyncio.run(place_for(database_url, principal, orderable, PHASE_SECONDS, phase))
            )
        finally:
            stop.set()
            durations[load] += out.get(timeout=120)
            worker.join(timeout=60)
        rate, n = during[load][-1]
        print(f"placement during {load} loop: {rate:.1f} orders/s ({n})", flush=True)
    solo_rate = statistics.mean(rate for rate, _ in solo)
    settle_rate = statistics.mean(rate for rate, _ in during["settle"])
    control_rate = statistics.mean(rate for rate, _ in during["group_by"])
    ratio = settle_rate / solo_rate
    control = control_rate / solo_rate
    section.add(
        Result(
            name=f"consignment: order placement ({ORDER_LINES}-line) during settlement runs",
            figure=settle_rate,
            unit="orders/s",
            baseline=solo_rate,
            ratio=ratio,
            target="≥ 0.8 x its solo rate",
            notes=(
                f"{'meets' if ratio >= 0.8 else 'MISSES'} target; "
                f"{sum(n for _, n in during['settle'])} orders in {len(during['settle'])} "
                f"phases of {PHASE_SECONDS:.0f} s while {len(durations['settle'])} settlement "
                f"runs of 1M sales ran back to back in another process (median "
                f"{statistics.median(durations['settle']) * 1000:.0f} ms each, each rolled "
                f"back so the next settles the same sales): "
                + ", ".join(f"{rate:.1f}" for rate, _ in during["settle"])
                + " orders/s; alone, in the phases around them: "
                + ", ".join(f"{rate:.1f}" for rate, _ in solo)
                + f"; control: during the plain GROUP BY back to back on one backend "
                f"({len(durations['group_by'])} of them, median "
                f"{statistics.median(durations['group_by']) * 1000:.0f} ms): "
                + ", ".join(f"{rate:.1f}" for rate, _ in during["group_by"])
                + f" orders/s, ratio {control:.2f}"
            ),
        )
    )


TARGETS = {100_000: 2.0, 1_000_000: 1.5}  # the run's time / the GROUP BY's (#19 item 5)


def label(sales: int) -> str:
    return f"{sales // 1_000_000}M" if sales % 1_000_000 == 0 else f"{sales // 1_000}k"


def seeded(section: Section, dsn: str, sales: int) -> uuid.UUID:
    started = time.perf_counter()
    coop = asyncio.run(seed(dsn, sales))
    section.note(
        f"Seeded {sales:,} unsettled sales for {CONSIGNORS:,} consignors of one "
        f"cooperative in {time.perf_counter() - started:.1f} s (generate_series), "
        "then VACUUM ANALYZE."
    )
    return coop


def compare(
    section: Section, dsn: str, database_url: str, coop: uuid.UUID, cutoff: dt.datetime, sales: int
) -> tuple[int, int]:
    """The interleaved rounds at one size and their row. Returns the GROUP BY's count and
    gross."""
    measured = asyncio.run(interleaved(dsn, database_url, coop, cutoff, ROUNDS))
    group_by, runs = measured.group_by, measured.runs
    group_by_s, run_s = statistics.median(group_by), statistics.median(runs)
    serial_s = statistics.median(measured.serial_group_by)
    reading_s = statistics.median(measured.reading)
    ratio = run_s / group_by_s
    target = TARGETS[sales]
    print(
        f"{label(sales)} sales: GROUP BY {[round(t * 1000) for t in group_by]} ms, settlement "
        f"runs {[round(t * 1000) for t in runs]} ms: ratio of medians {ratio:.2f}x "
        f"(target ≤ {target}x); serial GROUP BY {serial_s * 1000:.0f} ms, the run's reading "
        f"part {reading_s * 1000:.0f} ms (medians)",
        flush=True,
    )
    section.add(
        Result(
            name=f"consignment: settlement run, {label(sales)} sales / 1,000 consignors",
            figure=run_s * 1000,
            unit="ms",
            baseline=group_by_s * 1000,
            ratio=ratio,
            target=f"≤ {target}x the single GROUP BY",
            notes=(
                f"{'meets' if ratio <= target else 'MISSES'} target; medians of {ROUNDS} "
                f"alternating rounds on one connection each (GROUP BY "
                f"{', '.join(f'{t * 1000:.0f}' for t in group_by)} ms; runs "
                f"{', '.join(f'{t * 1000:.0f}' for t in runs)} ms), each run whole (lock, "
                "one statement writing 1,000 statements over record-number ranges summed by "
                "index-only range scans, their payouts, the agreements' cycle and 2,000 "
                f"statement events) and rolled back so the next settles the same "
                f"{label(sales)} sales. Where the time goes, in the same rounds: the GROUP BY "
                f"without parallel workers {serial_s * 1000:.0f} ms (a statement that writes "
                "cannot have any); the run's reading part alone (its consignors, ranges and "
                f"sums, nothing written) {reading_s * 1000:.0f} ms, so its writes and the "
                f"rest ≈ {(run_s - reading_s) * 1000:.0f} ms"
            ),
        )
    )
    return measured.count, measured.gross


def run(services: Services, section: Section) -> None:
    for sales in SIZES[:-1]:
        with services.database("consignment") as database_url:
            dsn = asyncpg_dsn(database_url)
            coop = seeded(section, dsn, sales)
            compare(section, dsn, database_url, coop, dt.datetime.now(dt.UTC), sales)
    with services.database("consignment") as database_url:
        dsn = asyncpg_dsn(database_url)
        coop = seeded(section, dsn, SALES)
        cutoff = dt.datetime.now(dt.UTC)
        count, gross = compare(section, dsn, database_url, coop, cutoff, SALES)

        placement_during_runs(section, database_url, coop, cutoff)

        settle_plan, group_by_plan = asyncio.run(explain(database_url, coop, cutoff))
        section.note(
            "Plan of the settlement statement at 1M sales (EXPLAIN (ANALYZE, BUFFERS), "
            "rolled back):\n\n```\n" + settle_plan + "\n```"
        )
        section.note(
            "Plan of the GROUP BY at 1M sales (EXPLAIN (ANALYZE, BUFFERS)):\n\n```\n"
            + group_by_plan
            + "\n```"
        )
        # The rolled-back runs above left ~1,000 dead rows each in the small tables a run
        # writes (statements, payouts, agreements; 2,000 in the outbox); autovacuum would
        # have cleared them between real runs, which commit and are days apart.
        asyncio.run(vacuum(dsn))
        # The committed run's own baseline: the GROUP BY just before it (median of 3).
        group_by_now, _, _ = asyncio.run(baseline(dsn, coop, cutoff))
        commit_seconds: list[float] = []
        # Peak Python memory of a whole run: tracemalloc slows this process's allocations
        # (by ~30% of a run's time here), so it watches an identical run rolled back just
        # before, and the committed run is timed without it.
        tracemalloc.start()
        asyncio.run(settle(database_url, coop, cutoff, commit=False))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        settle_s, settled = asyncio.run(
            settle(database_url, coop, cutoff, commit_seconds=commit_seconds)
        )
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        statements, sales_counted, settled_gross, payouts = asyncio.run(settled_totals(dsn, coop))
        exact = (settled, sales_counted, settled_gross) == (count, count, gross)
        print(
            f"committed settlement run: {settle_s * 1000:.0f} ms (commit "
            f"{commit_seconds[0] * 1000:.0f} ms; GROUP BY just before: "
            f"{group_by_now * 1000:.0f} ms), {statements:,} statements, "
            f"{payouts:,} payouts, {settled:,} sales; peak Python memory "
            f"{peak / 1024:.0f} KiB; max RSS {rss_before / 1024:.0f} → "
            f"{rss_after / 1024:.0f} MiB; totals {'exact' if exact else 'DIFFER'}",
            flush=True,
        )
        committed_ratio = settle_s / group_by_now
        section.add(
            Result(
                name="consignment: the committed settlement run (once), 1M sales",
                figure=settle_s * 1000,
                unit="ms",
                baseline=group_by_now * 1000,
                ratio=committed_ratio,
                target=f"≤ {TARGETS[SALES]}x the single GROUP BY",
                notes=(
                    f"{'meets' if committed_ratio <= TARGETS[SALES] else 'MISSES'} target "
                    "(baseline: the "
                    f"GROUP BY just before it, median of 3); "
                    f"{statements:,} statements and {payouts:,} payouts committed (the "
                    f"commit itself {commit_seconds[0] * 1000:.0f} ms), no row of "
                    f"the 1M sales written; peak Python memory of a run {peak / 1024:.0f} KiB "
                    f"(tracemalloc, on an identical run rolled back just before), max RSS "
                    f"{rss_after / 1024:.0f} MiB; totals "
                    f"{'exact' if exact else 'DIFFER'} against the GROUP BY"
                ),
            )
        )


if __name__ == "__main__":
    section = Section(name="consignment settlement")
    run(start_services(), section)
