"""Migration 0018: the duplicate budget periods that racing creates left behind are merged
into the first one made (their orders moved to it) before the database starts refusing
overlaps."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg
from sqlalchemy.engine import make_url

from marketplace.ids import new_id
from marketplace.migrations_runner import upgrade
from tests.support import ServiceUrls
from tests.test_consignment_migration import dsn, sql

START = dt.date(2026, 11, 2)
END = dt.date(2026, 11, 13)


async def raced_periods(url: str) -> dict[str, uuid.UUID]:
    """A kitchen with three identical periods (one created first) and an order on each of
    the later two, a later period of its own, and another kitchen's same-dated period."""
    ids: dict[str, uuid.UUID] = {}
    conn = await asyncpg.connect(dsn(url))
    try:
        for name in ("kitchen", "neighbour"):
            ids[name] = uuid.uuid4()
            await conn.execute(
                "INSERT INTO organizations (id, kind, name, slug, region_code, city, "
                "time_zone, vat_registered, created_at, updated_at) VALUES ($1, 'kitchen', "
                "$2, $2, '35.76.02.1005', 'Kota Mojokerto', 'Asia/Jakarta', false, now(), "
                "now())",
                ids[name],
                f"m-{ids[name].hex[:12]}",
            )

        async def period(name: str, kitchen: str, start: dt.date, end: dt.date) -> None:
            ids[name] = new_id()  # time-ordered, as the API makes them
            await conn.execute(
                "INSERT INTO budget_periods (id, kitchen_organization_id, start_date, "
                "end_date, operating_days, bands, envelope, created_at) "
                "VALUES ($1, $2, $3, $4, 10, '[]', 1000000, now())",
                ids[name],
                ids[kitchen],
                start,
                end,
            )

        await period("first", "kitchen", START, END)
        await period("second", "kitchen", START, END)
        await period("third", "kitchen", START, END)
        await period("later", "kitchen", END + dt.timedelta(days=3), END + dt.timedelta(days=14))
        await period("neighbours", "neighbour", START, END)
        for name, period_name in (("order_a", "second"), ("order_b", "third")):
            ids[name] = uuid.uuid4()
            await conn.execute(
                "INSERT INTO orders (id, buyer_organization_id, status, delivery_date, "
                "delivery_region_code, delivery_address, subtotal, vat_total, levy_total, "
                "total, credited_total, budget_period_id, created_at, updated_at) VALUES "
                "($1, $2, 'placed', $3, '35.76.02.1005', 'Dapur', 100, 0, 0, 100, 0, $4, "
                "now(), now())",
                ids[name],
                ids["kitchen"],
                START + dt.timedelta(days=2),
                ids[period_name],
            )
    finally:
        await conn.close()
    return ids


def test_raced_duplicate_periods_are_merged_into_the_first(service_urls: ServiceUrls) -> None:
    admin = make_url(service_urls.database_url).set(database="postgres").render_as_string(False)
    name = f"migration_{uuid.uuid4().hex[:10]}"
    asyncio.run(sql(admin, f'CREATE DATABASE "{name}"'))
    url = make_url(service_urls.database_url).set(database=name).render_as_string(False)
    try:
        upgrade(url, "0010_leg_shipped_quantity")
        ids = asyncio.run(raced_periods(url))
        upgrade(url, "heads")
        periods = asyncio.run(
            sql(
                url,
                "SELECT id FROM budget_periods WHERE kitchen_organization_id = $1",
                ids["kitchen"],
            )
        )
        assert {p["id"] for p in periods} == {ids["first"], ids["later"]}
        orders = asyncio.run(
            sql(
                url,
                "SELECT budget_period_id FROM orders WHERE buyer_organization_id = $1",
                ids["kitchen"],
            )
        )
        assert [o["budget_period_id"] for o in orders] == [ids["first"], ids["first"]]
        neighbours = asyncio.run(
            sql(
                url,
                "SELECT id FROM budget_periods WHERE kitchen_organization_id = $1",
                ids["neighbour"],
            )
        )
        assert [p["id"] for p in neighbours] == [ids["neighbours"]]
    finally:
        asyncio.run(sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
