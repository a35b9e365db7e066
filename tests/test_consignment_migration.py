"""Migration 0011: statements stamped on every sale become ranges of record numbers.

Existing data is renumbered in settlement order, so every statement keeps exactly the
sales and returns it settled, unsettled ones stay unsettled and settle once afterwards;
the downgrade stamps the statement ids back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from marketplace.migrations_runner import alembic_config, upgrade
from tests.support import ServiceUrls


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


async def sql(url: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn(url))
    try:
        return list(await conn.fetch(statement, *args))
    finally:
        await conn.close()


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


async def old_books(url: str) -> dict[str, Any]:
    """Two consignors: A with two statements and an unsettled sale, B with one statement
    (a sale and a return) and an unsettled return. Ids of statements increase in time."""
    coop, a, b = new_uuid(), new_uuid(), new_uuid()
    conn = await asyncpg.connect(dsn(url))
    try:
        for org, kind in ((coop, "cooperative"), (a, "umkm"), (b, "umkm")):
            await conn.execute(
                "INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone, "
                "vat_registered, created_at, updated_at) VALUES ($1, $2, $3, $3, "
                "'35.76.02.1005', 'Kota Mojokerto', 'Asia/Jakarta', false, now(), now())",
                org,
                kind,
                f"m-{org.hex[:12]}",
            )
        agreements = {}
        for consignor in (a, b):
            agreements[consignor] = new_uuid()
            await conn.execute(
                "INSERT INTO consignment_agreements (id, cooperative_id, consignor_id, "
                "commission_bps, settlement_cycle_days, bank_name, bank_account_number, "
                "bank_account_holder, status, created_at, updated_at) VALUES ($1, $2, $3, "
                "1000, 7, 'BRI', '0123456789', 'x', 'active', now(), now())",
                agreements[consignor],
                coop,
                consignor,
            )
        run = new_uuid()
        await conn.execute(
            "INSERT INTO consignment_settlement_runs (id, cooperative_id, cutoff, "
            "statements_count, sales_count, payout_total, created_at) "
            "VALUES ($1, $2, now(), 0, 0, 0, now())",
            run,
            coop,
        )
        # uuid7-like increasing ids: the statements' order.
        a1, b1, a2 = (uuid.UUID(int=(i << 100) | new_uuid().int % (1 << 64)) for i in (1, 2, 3))
        for statement, consignor in ((a1, a), (b1, b), (a2, a)):
            await conn.execute(
                "INSERT INTO consignment_statements (id, run_id, cooperative_id, consignor_id, "
                "agreement_id, cutoff, opening_balance, sales_count, gross_sales, commission, "
                "net_sales, returns_count, returns_quantity, adjustments_total, payout_due, "
                "closing_balance, created_at) VALUES ($1, $2, $3, $4, $5, now(), 0, 0, 0, 0, 0, "
                "0, 0, 0, 0, 0, now())",
                statement,
                run,
                coop,
                consignor,
                agreements[consignor],
            )
        sales = {}
        now = dt.datetime.now(dt.UTC)
        # (name, consignor, statement, minutes ago): recorded out of settlement order.
        for name, consignor, statement, ago in [
            ("a2-sale", a, a2, 50),
            ("a1-sale-1", a, a1, 40),
            ("b1-sale", b, b1, 30),
            ("a-unsettled", a, None, 20),
            ("a1-sale-2", a, a1, 10),
        ]:
            sales[name] = new_uuid()
            await conn.execute(
                "INSERT INTO consignment_sales (id, leg_id, order_id, agreement_id, "
                "cooperative_id, consignor_id, buyer_id, product_id, quantity, unit_price, "
                "gross_amount, commission_bps, commission_amount, vat_amount, sold_at, "
                "statement_id) VALUES ($1, $1, $1, $2, $3, $4, $3, $3, 1, 1000, 1000, 1000, "
                "100, 0, $5, $6)",
                sales[name],
                agreements[consignor],
                coop,
                consignor,
                now - dt.timedelta(minutes=ago),
                statement,
            )
        # The listing the returns came from (their foreign key).
        product, listing = new_uuid(), new_uuid()
        await conn.execute(
            "INSERT INTO products (id, sku, name, category, unit_code, unit_label, net_content, "
            "net_content_unit, vat_treatment, bulog_supplied, price_caps, search_text, "
            "created_at, updated_at) VALUES ($1, $2, 'Minyak', 'oil', 'XBO', 'botol', 1000, "
            "'MLT', 'standard', false, '[]', 'minyak', now(), now())",
            product,
            f"MIG-{product.hex[:8]}",
        )
        await conn.execute(
            "INSERT INTO listings (id, seller_organization_id, owner_organization_id, "
            "product_id, seller_kind, category, region_code, tiers, base_unit_price, "
            "min_order_quantity, on_hand, reserved, supply_mode, status, created_at, "
            "updated_at) VALUES ($1, $2, $3, $4, 'cooperative', 'oil', '35.76.02.1005', "
            "'[{\"min_quantity\": 1, \"unit_price\": 1000}]', 1000, 1, 5, 0, 'stock', "
            "'active', now(), now())",
            listing,
            coop,
            b,
            product,
        )
        returns = {}
        for name, consignor, statement in [("b1-return", b, b1), ("b-unsettled", b, None)]:
            returns[name] = new_uuid()
            await conn.execute(
                "INSERT INTO consignment_returns (id, agreement_id, cooperative_id, "
                "consignor_id, listing_id, quantity, reason, statement_id) "
                "VALUES ($1, $2, $3, $4, $5, 1, 'x', $6)",
                returns[name],
                agreements[consignor],
                coop,
                consignor,
                listing,
                statement,
            )
    finally:
        await conn.close()
    return {
        "coop": coop,
        "statements": {"a1": a1, "b1": b1, "a2": a2},
        "sales": sales,
        "returns": returns,
    }


RANGE_OF = """
SELECT x.id, st.id FROM {table} x
  LEFT JOIN consignment_statements st
    ON st.cooperative_id = x.cooperative_id AND st.consignor_id = x.consignor_id
   AND x.seq > st.from_seq AND x.seq <= st.to_seq
 WHERE x.cooperative_id = $1
"""


def test_existing_statements_keep_exactly_their_rows(service_urls: ServiceUrls) -> None:
    admin = make_url(service_urls.database_url).set(database="postgres").render_as_string(False)
    name = f"migration_{uuid.uuid4().hex[:10]}"
    asyncio.run(sql(admin, f'CREATE DATABASE "{name}"'))
    url = make_url(service_urls.database_url).set(database=name).render_as_string(False)
    try:
        upgrade(url, "0006_consignment")
        books = asyncio.run(old_books(url))
        upgrade(url, "heads")

        coop, st, sales, returns = (
            books["coop"],
            books["statements"],
            books["sales"],
            books["returns"],
        )
        in_range = {
            r[0]: r[1]
            for table in ("consignment_sales", "consignment_returns")
            for r in asyncio.run(sql(url, RANGE_OF.format(table=table), coop))
        }
        assert in_range[sales["a1-sale-1"]] == in_range[sales["a1-sale-2"]] == st["a1"]
        assert in_range[sales["a2-sale"]] == st["a2"]
        assert in_range[sales["b1-sale"]] == st["b1"]
        assert in_range[sales["a-unsettled"]] is None
        assert in_range[returns["b1-return"]] == st["b1"]
        assert in_range[returns["b-unsettled"]] is None
        chains = asyncio.run(
            sql(
                url,
                "SELECT id, from_seq, to_seq FROM consignment_statements "
                "WHERE cooperative_id = $1 ORDER BY consignor_id, from_seq",
                coop,
            )
        )
        assert all(r[1] < r[2] for r in chains)
        # New records number after everything that existed.
        top = max(r[2] for r in chains)
        assert asyncio.run(sql(url, "SELECT nextval('consignment_record_seq')"))[0][0] > top

        command.downgrade(alembic_config(url), "0006_consignment")
        stamped = {
            r[0]: r[1]
            for table in ("consignment_sales", "consignment_returns")
            for r in asyncio.run(
                sql(url, f"SELECT id, statement_id FROM {table} WHERE cooperative_id = $1", coop)
            )
        }
        assert stamped == in_range
    finally:
        asyncio.run(sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
