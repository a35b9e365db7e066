"""Migration 0021: an order a person placed before it, recorded under the membership's id
in the key column, is recorded under the person; an order an API key placed keeps its key."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from sqlalchemy.engine import make_url

from marketplace.migrations_runner import upgrade
from tests.support import ServiceUrls
from tests.test_consignment_migration import dsn, sql

BEFORE = ("0018_standing_budget", "0008_sourcing", "0009_payments", "0011_consignment_ranges")
ORDER = (
    "INSERT INTO orders (id, buyer_organization_id, status, delivery_date, "
    "delivery_region_code, delivery_address, subtotal, vat_total, levy_total, total, "
    "credited_total, placed_by_api_key_id) VALUES ($1, $2, 'placed', '2026-12-04', "
    "'35.76', 'Jl. Uji', 1000, 0, 0, 1000, 0, $3)"
)


async def orders_of_a_person_and_a_key(url: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    kitchen, person, membership, key = (uuid.uuid4() for _ in range(4))
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(
            "INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone, "
            "vat_registered, created_at, updated_at) VALUES ($1, 'kitchen', 'SPPG', $2, "
            "'35.76', 'Kota Mojokerto', 'Asia/Jakarta', false, now(), now())",
            kitchen,
            f"m-{kitchen.hex[:12]}",
        )
        await conn.execute(
            "INSERT INTO people (id, name, phone, password_hash) VALUES ($1, 'Bu Ratna', "
            "'+6281100000099', 'x')",
            person,
        )
        await conn.execute(
            "INSERT INTO memberships (id, person_id, organization_id, role) "
            "VALUES ($1, $2, $3, 'buyer')",
            membership,
            person,
            kitchen,
        )
        by_person, by_key = uuid.uuid4(), uuid.uuid4()
        await conn.execute(ORDER, by_person, kitchen, membership)
        await conn.execute(ORDER, by_key, kitchen, key)
    finally:
        await conn.close()
    return by_person, by_key, person


def test_people_recorded_under_their_membership_become_the_person(
    service_urls: ServiceUrls,
) -> None:
    admin = make_url(service_urls.database_url).set(database="postgres").render_as_string(False)
    name = f"migration_{uuid.uuid4().hex[:10]}"
    asyncio.run(sql(admin, f'CREATE DATABASE "{name}"'))
    url = make_url(service_urls.database_url).set(database=name).render_as_string(False)
    try:
        for head in (*BEFORE, "0019_accounts_people"):
            upgrade(url, head)
        by_person, by_key, person = asyncio.run(orders_of_a_person_and_a_key(url))
        upgrade(url, "heads")
        rows = asyncio.run(
            sql(
                url,
                "SELECT id, placed_by_api_key_id, placed_by_person_id FROM orders "
                "WHERE id = ANY($1::uuid[])",
                [by_person, by_key],
            )
        )
        actors = {row["id"]: (row[1], row[2]) for row in rows}
        assert actors[by_person] == (None, person)
        assert actors[by_key][1] is None
        assert actors[by_key][0] is not None
    finally:
        asyncio.run(sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
