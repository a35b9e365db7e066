"""Migration 0024: the monthly roll-up is back-filled from the rows that existed before it,
equal to the live aggregation of those rows, and its downgrade leaves the sources alone.

The rows are written as the application had written them before the roll-up existed, with
their foreign keys unchecked (`session_replication_role = replica`): the back-fill reads
only the columns the report counts."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import asyncpg
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from marketplace.migrations_runner import alembic_config, upgrade
from marketplace.reports.domain.figures import sums_by_key
from marketplace.reports.figures_repository import FiguresRepository
from tests.builders.live_figures import live_grouped
from tests.support import ServiceUrls

REVISION = "0024_report_monthly_rollup"
CITY = "35.77"


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


async def sql(url: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn(url))
    try:
        return list(await conn.fetch(statement, *args))
    finally:
        await conn.close()


ORG = (
    "INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone, "
    "vat_registered, created_at, updated_at) VALUES ($1, $2, $3, $3, $4, 'Kota', $5, false, "
    "now(), now())"
)
LEG = (
    "INSERT INTO order_legs (id, order_id, line_no, kind, product_id, category, "
    "supplier_organization_id, owner_organization_id, buyer_organization_id, quantity, "
    "unit_price, subtotal, vat_treatment, vat_amount, levy_amount, status, delivered_at, "
    "delivered_quantity, credited_amount, created_at) VALUES ($1, $2, 1, $3, $2, 'rice', $4, "
    "$4, $5, $6, $7, $6::bigint * $7::bigint, 'exempt', 0, 0, $8, $9, $10, 0, now())"
)
SALE = (
    "INSERT INTO consignment_sales (id, leg_id, order_id, agreement_id, cooperative_id, "
    "consignor_id, buyer_id, product_id, quantity, unit_price, gross_amount, commission_bps, "
    "commission_amount, vat_amount, sold_at, seq) VALUES ($1, $1, $1, $1, $2, $3, $4, $1, 1, "
    "$5, $5, 1000, $5::bigint / 10, 0, $6, nextval('consignment_record_seq'))"
)
BULOG = (
    "INSERT INTO bulog_purchase_orders (id, lot_id, bulog_organization_id, "
    "cooperative_organization_id, product_id, quantity, unit_price, total, status, created_at) "
    "VALUES ($1, $1, $2, $3, $1, 10, 12000, 120000, 'placed', $4)"
)
ALLOTMENT = (
    "INSERT INTO trade_allotments (id, contract_id, supplier_organization_id, position, "
    "declared_capacity, capacity, quantity, created_at) VALUES ($1, $1, $2, 1, 100, 100, 100, "
    "now())"
)
SHIPMENT = (
    "INSERT INTO trade_shipments (id, contract_id, allotment_id, week_start, quantity, amount, "
    "levy_amount, created_at) VALUES ($1, $2, $2, $3::timestamptz::date, 5, 275000, 4125, $3)"
)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


async def old_rows(url: str) -> dict[str, uuid.UUID]:
    """A Jakarta cooperative and a Makassar one (UTC+8), their buyers and suppliers, and
    a year of their rows, some on the edge of a local month."""
    ids = {name: uuid.uuid4() for name in ("jkt", "mks", "kitchen", "stall", "umkm", "bulog")}
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute("SET session_replication_role = replica")
        for name, kind, region, zone in (
            ("jkt", "cooperative", f"{CITY}.01.1001", "Asia/Jakarta"),
            ("mks", "cooperative", f"{CITY}.02.1001", "Asia/Makassar"),
            ("kitchen", "kitchen", f"{CITY}.01.1002", "Asia/Jakarta"),
            ("stall", "food_stall", f"{CITY}.01.1003", "Asia/Jakarta"),
            ("umkm", "umkm", f"{CITY}.01.1004", "Asia/Jakarta"),
            ("bulog", "bulog", "35.01.01.1001", "Asia/Jakarta"),
        ):
            await conn.execute(ORG, ids[name], kind, f"m-{ids[name].hex[:12]}", region, zone)
        legs = [
            # 28 Feb 17:30 UTC: 1 March in Makassar and Jakarta.
            ("jkt", "kitchen", "stock", 10, 60_000, "delivered", "2026-02-28T17:30", 10),
            ("mks", "kitchen", "stock", 3, 50_000, "delivered", "2026-02-28T16:30", 2),
            # 31 March 16:30 UTC: April in Makassar, March in Jakarta.
            ("mks", "stall", "stock", 4, 50_000, "delivered", "2026-03-31T16:30", None),
            ("jkt", "stall", "consignment", 2, 30_000, "delivered", "2026-03-31T16:30", 2),
            ("jkt", "stall", "stock", 5, 60_000, "delivered", "2025-03-10T03:00", 5),
            ("jkt", "kitchen", "stock", 5, 60_000, "shipped", None, None),
            ("jkt", "kitchen", "stock", 5, 60_000, "cancelled", None, None),
        ]
        for coop, buyer, kind, quantity, price, status, when, received in legs:
            leg = uuid.uuid4()
            delivered = at(when) if when else None
            await conn.execute(
                LEG, leg, leg, kind, ids[coop], ids[buyer], quantity, price, status, delivered,
                received,
            )  # fmt: skip
        for coop, gross, when in (
            ("jkt", 60_000, "2026-03-31T16:30"),
            ("mks", 20_000, "2026-03-05T03:00"),
        ):
            await conn.execute(
                SALE, uuid.uuid4(), ids[coop], ids["umkm"], ids["stall"], gross, at(when)
            )
        await conn.execute(BULOG, uuid.uuid4(), ids["bulog"], ids["jkt"], at("2026-03-20T03:00"))
        allotment = uuid.uuid4()
        await conn.execute(ALLOTMENT, allotment, ids["mks"])
        await conn.execute(SHIPMENT, uuid.uuid4(), allotment, at("2026-03-25T03:00"))
    finally:
        await conn.close()
    return ids


async def grouped(url: str) -> tuple[dict[Any, dict[str, int]], dict[Any, dict[str, int]]]:
    engine = create_async_engine(url)
    first, start, last = dt.date(2025, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 12, 1)
    try:
        async with engine.connect() as connection:
            session = AsyncSession(bind=connection)
            rolled = await FiguresRepository(session).grouped(CITY, None, first, start, last)
            live = await live_grouped(session, CITY, None, first, start, last)
            await session.close()
    finally:
        await engine.dispose()
    return sums_by_key(rolled), sums_by_key(live)


def test_the_roll_up_is_back_filled_from_the_rows_before_it(service_urls: ServiceUrls) -> None:
    admin = make_url(service_urls.database_url).set(database="postgres").render_as_string(False)
    name = f"migration_{uuid.uuid4().hex[:10]}"
    asyncio.run(sql(admin, f'CREATE DATABASE "{name}"'))
    url = make_url(service_urls.database_url).set(database=name).render_as_string(False)
    try:
        config = alembic_config(url)
        for head in ScriptDirectory.from_config(config).get_heads():
            if head != REVISION:
                upgrade(url, head)
        assert not asyncio.run(sql(url, "SELECT to_regclass('report_monthly_rollup') AS t"))[0][0]
        ids = asyncio.run(old_rows(url))
        upgrade(url, "heads")

        rolled, live = asyncio.run(grouped(url))
        assert rolled == live
        jkt_march, mks_march = (ids["jkt"], dt.date(2026, 3, 1)), (ids["mks"], dt.date(2026, 3, 1))
        assert rolled[jkt_march]["turnover"] == 600_000 + 60_000
        assert rolled[jkt_march]["consignment_sales"] == 60_000
        assert rolled[jkt_march]["buyers"] == 2
        assert rolled[jkt_march]["bulog_purchases"] == 120_000
        assert rolled[jkt_march]["local_bulog_purchases"] == 0  # Bulog's branch is elsewhere
        assert rolled[jkt_march]["local_consigned_supply"] == 60_000
        assert rolled[mks_march]["turnover"] == 100_000
        assert rolled[mks_march]["trade_levy"] == 4125
        assert rolled[(ids["mks"], dt.date(2026, 4, 1))]["turnover"] == 200_000
        assert rolled[(ids["jkt"], dt.date(2025, 3, 1))]["turnover"] == 300_000
        rows = asyncio.run(sql(url, "SELECT count(*) FROM report_monthly_rollup"))[0][0]
        assert rows == 4  # Jakarta: 2025-03, 2026-03; Makassar: 2026-03, 2026-04

        command.downgrade(config, "0023_city_oversight")
        assert not asyncio.run(sql(url, "SELECT to_regclass('report_monthly_rollup') AS t"))[0][0]
        legs = asyncio.run(sql(url, "SELECT count(*) FROM order_legs"))[0][0]
        assert legs == 7
    finally:
        asyncio.run(sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
