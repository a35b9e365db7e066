"""Migration 0017: units stranded on Bulog listings (on hand, reserved for no leg) move to
the cooperative's own stock listing, logged; a second run moves nothing."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from marketplace.migrations_runner import alembic_config, upgrade
from tests.support import ServiceUrls
from tests.test_consignment_migration import dsn, sql

LEVELS = "SELECT supply_mode, on_hand, reserved FROM listings WHERE id = $1"
OWN = (
    "SELECT id, on_hand, reserved, status, base_unit_price FROM listings "
    "WHERE seller_organization_id = $1 AND supply_mode = 'stock'"
)


@dataclass(frozen=True)
class StrandedStock:
    coops: dict[str, uuid.UUID]
    listings: dict[str, uuid.UUID]


async def stranded_stock(url: str) -> StrandedStock:
    """Three cooperatives' Bulog listings: one with units stranded and no own listing, one
    with some stranded beside units still reserved and an own listing, one with none."""
    product = uuid.uuid4()
    coops = {name: uuid.uuid4() for name in ("bare", "stocked", "clean")}
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(
            "INSERT INTO products (id, sku, name, category, unit_code, unit_label, net_content, "
            "net_content_unit, vat_treatment, bulog_supplied, price_caps, search_text, "
            "created_at, updated_at) VALUES ($1, $2, 'Beras', 'rice', 'XSA', 'karung', 25000, "
            "'GRM', 'exempt', true, '[]', 'beras', now(), now())",
            product,
            f"MIG-{product.hex[:8]}",
        )
        listings: dict[str, uuid.UUID] = {}

        async def listing(
            coop: uuid.UUID, mode: str, on_hand: int, reserved: int, price: int
        ) -> uuid.UUID:
            listing_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO listings (id, seller_organization_id, owner_organization_id, "
                "product_id, seller_kind, category, region_code, tiers, base_unit_price, "
                "min_order_quantity, on_hand, reserved, supply_mode, status, created_at, "
                "updated_at) VALUES ($1, $2, $2, $3, 'cooperative', 'rice', '36.73.01.1002', "
                "$4, $5, 1, $6, $7, $8, 'active', now(), now())",
                listing_id,
                coop,
                product,
                f'[{{"min_quantity": 1, "unit_price": {price}}}]',
                price,
                on_hand,
                reserved,
                mode,
            )
            return listing_id

        for coop in coops.values():
            await conn.execute(
                "INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone, "
                "vat_registered, created_at, updated_at) VALUES ($1, 'cooperative', $2, $2, "
                "'36.73.01.1002', 'Kota Serang', 'Asia/Jakarta', false, now(), now())",
                coop,
                f"m-{coop.hex[:12]}",
            )
        listings["bare"] = await listing(coops["bare"], "bulog_lot", 30, 0, 300_000)
        listings["stocked"] = await listing(coops["stocked"], "bulog_lot", 50, 20, 300_000)
        listings["stocked_own"] = await listing(coops["stocked"], "stock", 5, 2, 310_000)
        listings["clean"] = await listing(coops["clean"], "bulog_lot", 10, 10, 300_000)
    finally:
        await conn.close()
    return StrandedStock(coops=coops, listings=listings)


def test_stranded_units_become_own_stock(service_urls: ServiceUrls) -> None:
    admin = make_url(service_urls.database_url).set(database="postgres").render_as_string(False)
    name = f"migration_{uuid.uuid4().hex[:10]}"
    asyncio.run(sql(admin, f'CREATE DATABASE "{name}"'))
    url = make_url(service_urls.database_url).set(database=name).render_as_string(False)
    try:
        upgrade(url, "0007_procurement")
        stranded = asyncio.run(stranded_stock(url))
        coops, listings = stranded.coops, stranded.listings
        upgrade(url, "heads")

        def levels(listing_id: uuid.UUID) -> tuple[Any, ...]:
            return tuple(asyncio.run(sql(url, LEVELS, listing_id))[0])

        assert levels(listings["bare"]) == ("bulog_lot", 0, 0)
        [opened] = asyncio.run(sql(url, OWN, coops["bare"]))
        assert tuple(opened)[1:] == (30, 0, "active", 300_000)
        assert levels(listings["stocked"]) == ("bulog_lot", 20, 20)  # the waiting legs' 20 stay
        assert levels(listings["stocked_own"]) == ("stock", 35, 2)
        assert levels(listings["clean"]) == ("bulog_lot", 10, 10)
        assert asyncio.run(sql(url, OWN, coops["clean"])) == []

        moves = asyncio.run(
            sql(
                url,
                "SELECT listing_id, kind, on_hand_delta, reserved_delta, on_hand_after, "
                "reserved_after FROM stock_movements WHERE reference = 'migration:0017' "
                "ORDER BY listing_id, kind",
            )
        )
        assert sorted(tuple(m) for m in moves) == sorted(
            [
                (listings["bare"], "adjust", -30, 0, 0, 0),
                (opened["id"], "receive", 30, 0, 30, 0),
                (listings["stocked"], "adjust", -30, 0, 20, 20),
                (listings["stocked_own"], "receive", 30, 0, 35, 2),
            ]
        )

        command.downgrade(alembic_config(url), "0007_procurement")
        upgrade(url, "heads")
        again = asyncio.run(
            sql(url, "SELECT count(*) FROM stock_movements WHERE reference = 'migration:0017'")
        )
        assert again[0][0] == 4
        assert levels(listings["stocked_own"]) == ("stock", 35, 2)
    finally:
        asyncio.run(sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
