"""Consignment settlement over 1,000,000 sales for 1,000 consignors (issue 5).

Seeds one cooperative, 1,000 UMKM consignors with agreements and 1,000,000 unsettled
sales with SQL `generate_series` (ids are time-ordered UUIDv7 like the application's, via
PostgreSQL 18's `uuidv7()`), then, in the same run and on the same rows:

* baseline: the single SQL `GROUP BY consignor_id` that totals the unsettled sales
  (median of 3, warm cache) — the least any settlement must do;
* the settlement run (`SettlementService.settle`, one transaction, committed): claim every
  sale (`UPDATE … SET statement_id … WHERE statement_id IS NULL`), total the claimed rows
  per statement, open 1,000 statements and 1,000 payouts.

Prints the time of both, their ratio (target ≤ 3x), the process's peak Python memory
during the run (tracemalloc) and its max RSS, and checks the totals agree. Nothing is
asserted on time. `python -m bench.consignment_settlement` (or `bench.run consignment`
once registered there).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import resource
import statistics
import time
import tracemalloc
import uuid

import asyncpg

from bench.harness import Result, Section, Services, asyncpg_dsn, start_services

CONSIGNORS = 1_000
SALES = 1_000_000


async def seed(dsn: str) -> uuid.UUID:
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
            SALES,
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
 WHERE cooperative_id = $1 AND statement_id IS NULL AND sold_at < $2
 GROUP BY consignor_id
"""


async def baseline(dsn: str, coop: uuid.UUID, cutoff: dt.datetime) -> tuple[float, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        samples, rows = [], []
        for _ in range(3):
            started = time.perf_counter()
            rows = await conn.fetch(GROUP_BY, coop, cutoff)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples), sum(r[1] for r in rows), sum(r[2] for r in rows)
    finally:
        await conn.close()


async def settle(database_url: str, coop: uuid.UUID, cutoff: dt.datetime) -> tuple[float, int]:
    from marketplace.consignment.settlement_service import SettlementService
    from marketplace.db import create_engine, create_session_factory, unit_of_work

    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        factory = create_session_factory(engine)
        started = time.perf_counter()
        async with unit_of_work(factory) as uow:
            run = await SettlementService(uow).settle(coop, cutoff)
            await uow.commit()
        return time.perf_counter() - started, run.sales_count
    finally:
        await engine.dispose()


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


def run(services: Services, section: Section) -> None:
    with services.database("consignment") as database_url:
        dsn = asyncpg_dsn(database_url)
        started = time.perf_counter()
        coop = asyncio.run(seed(dsn))
        section.note(
            f"Seeded {SALES:,} unsettled sales for {CONSIGNORS:,} consignors of one "
            f"cooperative in {time.perf_counter() - started:.1f} s (generate_series), "
            "then VACUUM ANALYZE."
        )
        cutoff = dt.datetime.now(dt.UTC)
        group_by_s, count, gross = asyncio.run(baseline(dsn, coop, cutoff))
        print(f"baseline GROUP BY: {group_by_s * 1000:.0f} ms over {count:,} rows", flush=True)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        settle_s, settled = asyncio.run(settle(database_url, coop, cutoff))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        statements, sales_counted, settled_gross, payouts = asyncio.run(settled_totals(dsn, coop))
        exact = (settled, sales_counted, settled_gross) == (count, count, gross)
        print(
            f"settlement run: {settle_s * 1000:.0f} ms, {statements:,} statements, "
            f"{payouts:,} payouts, {settled:,} sales; peak Python memory "
            f"{peak / 1024:.0f} KiB; max RSS {rss_before / 1024:.0f} → "
            f"{rss_after / 1024:.0f} MiB; totals {'exact' if exact else 'DIFFER'}",
            flush=True,
        )
        ratio = settle_s / group_by_s
        print(f"ratio settlement / GROUP BY: {ratio:.1f}x (target ≤ 3x)", flush=True)
        section.add(
            Result(
                name="consignment: settlement run, 1M sales / 1,000 consignors",
                figure=settle_s * 1000,
                unit="ms",
                baseline=group_by_s * 1000,
                ratio=ratio,
                target="≤ 3x the single GROUP BY",
                notes=(
                    f"{'meets' if ratio <= 3 else 'MISSES'} target; claims and totals every "
                    f"sale in one UPDATE…RETURNING + GROUP BY, commits; peak Python memory "
                    f"{peak / 1024:.0f} KiB (tracemalloc); totals "
                    f"{'exact' if exact else 'DIFFER'}"
                ),
            )
        )


if __name__ == "__main__":
    section = Section(name="consignment settlement")
    run(start_services(), section)
