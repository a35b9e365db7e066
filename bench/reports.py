"""The city office's report over a year of a city's sales (#17): 18 cooperatives x 365
days x 200 delivered orders a day (1,314,000 orders, one leg each), seeded with set-based
SQL (`generate_series`, ids by PostgreSQL 18's `uuidv7()`), then, alternating in the same
run on the same rows after a warm-up of each:

* the bare GROUP BY: delivered legs' pre-VAT value summed per cooperative and local month
  (the least any such report must do);
* the whole report (`ReportService.cooperatives_report` for the office over the year:
  the year before included, its GROUPING SETS over the monthly roll-up — at most 24 rows a
  cooperative, and the (cooperative, month, buyer) sets for the distinct counts — and the
  assembly).

p50 of each and their ratio. The roll-up is built by the sources' statement triggers as the
seed's INSERT goes in, as it would be by a year of deliveries. What it costs a delivery is
measured too: one leg's receipt corrected (an UPDATE of its delivered quantity, rolled
back) with the triggers, against the same UPDATE with them off (`session_replication_role
= replica`), interleaved. Nothing is asserted. `python -m bench.run reports`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
import uuid

import asyncpg

from bench.harness import Result, Section, Services, asyncpg_dsn, start_services
from bench.seed import insert_products

COOPERATIVES = 18
DAYS = 365
ORDERS_PER_DAY = 200
KITCHENS = 60
STALLS = 40
ROUNDS = 7
FIRST_DAY = dt.date(2025, 1, 1)


async def seed(dsn: str) -> uuid.UUID:
    conn = await asyncpg.connect(dsn)
    try:
        [product] = await insert_products(conn, 1)
        await conn.execute(
            """
            INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone,
                                       vat_registered, created_at, updated_at)
            SELECT uuidv7(), k.kind, k.kind || ' ' || g, 'bench-' || k.kind || '-' || g,
                   '35.76.0' || (1 + g % 3) || '.' || (1001 + g), 'Kota Mojokerto',
                   'Asia/Jakarta', false, now(), now()
              FROM (VALUES ('cooperative', $1::int), ('kitchen', $2), ('food_stall', $3))
                   AS k(kind, n),
                   generate_series(1, k.n) AS g
            """,
            COOPERATIVES,
            KITCHENS,
            STALLS,
        )
        office = await conn.fetchval(
            "INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone, "
            "vat_registered, created_at, updated_at) VALUES (uuidv7(), 'government', "
            "'Dinas Koperasi Bench', 'bench-dinkop', '35.76', 'Kota Mojokerto', "
            "'Asia/Jakarta', false, now(), now()) RETURNING id"
        )
        await conn.execute(
            "INSERT INTO report_oversights (id, office_organization_id, region_prefix, "
            "turnover_target_bps, members_target_bps) VALUES (uuidv7(), $1, '35.76', 3000, 2000)",
            office,
        )
        await conn.execute(
            """
            CREATE TEMP TABLE bench_sales AS
            WITH coops AS (
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                  FROM organizations WHERE kind = 'cooperative'),
            buyers AS (
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                  FROM organizations WHERE kind IN ('kitchen', 'food_stall'))
            SELECT uuidv7() AS order_id, uuidv7() AS leg_id, c.id AS coop, b.id AS buyer,
                   $1::date + d AS day, 1 + (g * 7 + d) % 9 AS quantity,
                   10000 + (g * 131 + d * 17) % 50000 AS price,
                   ($1::date + d)::timestamp AT TIME ZONE 'Asia/Jakarta'
                       + (g % 200) * interval '5 minutes' AS delivered_at
              FROM generate_series(0, $2::int - 1) AS d
              CROSS JOIN generate_series(0, $3::int * $4::int - 1) AS g
              JOIN coops c ON c.n = g % $3::int
              JOIN buyers b ON b.n = (g * 13 + d) % $5::int
            """,
            FIRST_DAY,
            DAYS,
            COOPERATIVES,
            ORDERS_PER_DAY,
            KITCHENS + STALLS,
        )
        await conn.execute(
            """
            INSERT INTO orders (id, buyer_organization_id, status, delivery_date,
                delivery_region_code, delivery_address, subtotal, vat_total, levy_total, total,
                credited_total)
            SELECT order_id, buyer, 'completed', day, '35.76.01.1001', 'Dapur', quantity * price,
                   0, 0, quantity * price, 0
              FROM bench_sales
            """
        )
        await conn.execute(
            """
            INSERT INTO order_legs (id, order_id, line_no, kind, product_id, category,
                supplier_organization_id, owner_organization_id, buyer_organization_id,
                quantity, unit_price, subtotal, vat_treatment, vat_amount, levy_amount, status,
                shipped_at, delivered_at, shipped_quantity, delivered_quantity, credited_amount)
            SELECT leg_id, order_id, 1, 'stock', $1, 'rice', coop, coop, buyer, quantity,
                   price, quantity * price, 'exempt', 0, 0, 'delivered', delivered_at,
                   delivered_at, quantity, quantity, 0
              FROM bench_sales
            """,
            uuid.UUID(str(product.id)),
        )
        await conn.execute("VACUUM ANALYZE orders")
        await conn.execute("VACUUM ANALYZE order_legs")
        await conn.execute("ANALYZE organizations")
        return uuid.UUID(str(office))
    finally:
        await conn.close()


BARE = """
SELECT l.supplier_organization_id,
       date_trunc('month', l.delivered_at AT TIME ZONE 'Asia/Jakarta') AS month,
       sum(coalesce(l.delivered_quantity, l.quantity) * l.unit_price)
  FROM order_legs l
 WHERE l.status = 'delivered' AND l.delivered_at >= $1 AND l.delivered_at < $2
 GROUP BY 1, 2
"""


async def bare(dsn: str) -> tuple[float, int]:
    conn = await asyncpg.connect(dsn)
    try:
        lo = dt.datetime(2024, 12, 31, tzinfo=dt.UTC)
        hi = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
        started = time.perf_counter()
        rows = await conn.fetch(BARE, lo, hi)
        return time.perf_counter() - started, sum(r[2] for r in rows)
    finally:
        await conn.close()


async def report(database_url: str, office: uuid.UUID) -> tuple[float, int]:
    from marketplace.accounts import OrganizationKind, Principal, Role
    from marketplace.db import create_engine, create_session_factory, unit_of_work
    from marketplace.reports import ReportService

    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    principal = Principal(
        organization_id=office, organization_kind=OrganizationKind.GOVERNMENT, role=Role.VIEWER
    )
    try:
        factory = create_session_factory(engine)
        async with unit_of_work(factory) as uow:  # connect outside the timing
            await uow.session.connection()
        started = time.perf_counter()
        async with unit_of_work(factory) as uow:
            found = await ReportService(uow).cooperatives_report(principal, "2025-01", "2025-12")
        return time.perf_counter() - started, found.total.total.turnover
    finally:
        await engine.dispose()


UPDATES = 300
CORRECTION = "UPDATE order_legs SET delivered_quantity = delivered_quantity - 1 WHERE id = $1"
# A statement of no figure (a note on the receipt): the triggers look once and return.
NOTE = "UPDATE order_legs SET receipt_note = 'diterima' WHERE id = $1"


async def delivery_cost(dsn: str, statement: str) -> tuple[list[float], list[float]]:
    """Seconds of `statement` on one leg with the roll-up triggers and without them,
    alternating, each in a transaction rolled back (the rows stay as seeded)."""
    conn, bare_conn = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        await bare_conn.execute("SET session_replication_role = replica")
        legs = [
            r[0]
            for r in await conn.fetch(
                "SELECT id FROM order_legs WHERE delivered_quantity > 1 ORDER BY id LIMIT $1",
                UPDATES,
            )
        ]
        timed: dict[bool, list[float]] = {True: [], False: []}
        for leg in legs:
            for with_rollup, c in ((True, conn), (False, bare_conn)):
                transaction = c.transaction()
                await transaction.start()
                started = time.perf_counter()
                await c.execute(statement, leg)
                timed[with_rollup].append(time.perf_counter() - started)
                await transaction.rollback()
        return timed[True], timed[False]
    finally:
        await conn.close()
        await bare_conn.close()


def run(services: Services, section: Section) -> None:
    with services.database("reports") as database_url:
        dsn = asyncpg_dsn(database_url)
        started = time.perf_counter()
        office = asyncio.run(seed(dsn))
        orders = COOPERATIVES * DAYS * ORDERS_PER_DAY
        section.note(
            f"Seeded {orders:,} delivered orders (one leg each) of {COOPERATIVES} cooperatives "
            f"over {DAYS} days in {time.perf_counter() - started:.1f} s (generate_series; "
            "the roll-up's triggers aggregate each INSERT statement), then VACUUM ANALYZE."
        )
        asyncio.run(bare(dsn))
        asyncio.run(report(database_url, office))
        bares, reports = [], []
        for _ in range(ROUNDS):
            seconds, bare_total = asyncio.run(bare(dsn))
            bares.append(seconds)
            seconds, report_total = asyncio.run(report(database_url, office))
            reports.append(seconds)
            if report_total != bare_total:
                raise RuntimeError(f"report turnover {report_total} != GROUP BY {bare_total}")
        bare_s, report_s = statistics.median(bares), statistics.median(reports)
        section.add(
            Result(
                name=f"reports: the office's year, {orders:,} legs / {COOPERATIVES} cooperatives",
                figure=report_s * 1000,
                unit="ms",
                baseline=bare_s * 1000,
                ratio=report_s / bare_s,
                target="well under 1 s",
                notes=(
                    f"p50 of {ROUNDS} alternating rounds (GROUP BY "
                    f"{', '.join(f'{t * 1000:.0f}' for t in bares)} ms; report "
                    f"{', '.join(f'{t * 1000:.0f}' for t in reports)} ms); the report reads "
                    "the year before too (24 months) from the monthly roll-up and the buyer "
                    "sets, with GROUPING SETS; its turnover checked equal to the GROUP BY's"
                ),
            )
        )
        for statement, what in (
            (CORRECTION, "one leg's receipt corrected"),
            (NOTE, "a note written on a leg (no figure)"),
        ):
            asyncio.run(delivery_cost(dsn, statement))  # warm-up
            with_rollup, without = asyncio.run(delivery_cost(dsn, statement))
            cost, bare_cost = statistics.median(with_rollup), statistics.median(without)
            section.add(
                Result(
                    name=f"reports: {what}, with the roll-up's triggers",
                    figure=cost * 1000,
                    unit="ms",
                    baseline=bare_cost * 1000,
                    ratio=cost / bare_cost,
                    target="a fraction of a millisecond more",
                    notes=(
                        f"p50 of {len(with_rollup)} single-row UPDATEs alternating with the "
                        "same UPDATE with triggers off (session_replication_role = replica), "
                        "each rolled back: what keeping the roll-up adds to the statement"
                    ),
                )
            )


if __name__ == "__main__":
    section = Section(name="reports")
    run(start_services(), section)
