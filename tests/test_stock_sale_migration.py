"""Migration 0016: legs delivered before sales were posted get their `stock_sale` posting,
once, with the figures the application posts now; consignment and undelivered legs, and
legs already posted, are left alone; running it again posts nothing more."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from marketplace.db import create_engine, create_session_factory, unit_of_work
from marketplace.ledger import LedgerService
from marketplace.ledger.domain import postings
from marketplace.migrations_runner import alembic_config, upgrade
from tests.support import ServiceUrls
from tests.test_consignment_migration import dsn, sql

BEFORE = ("0003_ledger", "0010_leg_shipped_quantity")


async def legs_before_the_fix(url: str) -> dict[str, Any]:
    """A kitchen's order with one leg of every case, delivered before 0016."""
    kitchen, coop, umkm, bulog = (uuid.uuid4() for _ in range(4))
    product, order = uuid.uuid4(), uuid.uuid4()
    delivered_at = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    conn = await asyncpg.connect(dsn(url))
    try:
        for org, kind in (
            (kitchen, "kitchen"),
            (coop, "cooperative"),
            (umkm, "umkm"),
            (bulog, "bulog"),
        ):
            await conn.execute(
                "INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone, "
                "vat_registered, created_at, updated_at) VALUES ($1, $2, $3, $3, "
                "'35.76.02.1005', 'Kota Mojokerto', 'Asia/Jakarta', false, now(), now())",
                org,
                kind,
                f"m-{org.hex[:12]}",
            )
        await conn.execute(
            "INSERT INTO products (id, sku, name, category, unit_code, unit_label, net_content, "
            "net_content_unit, vat_treatment, bulog_supplied, price_caps, search_text, "
            "created_at, updated_at) VALUES ($1, $2, 'Minyak', 'oil', 'XBO', 'botol', 1000, "
            "'MLT', 'standard', false, '[]', 'minyak', now(), now())",
            product,
            f"MIG-{product.hex[:8]}",
        )
        await conn.execute(
            "INSERT INTO orders (id, buyer_organization_id, status, delivery_date, "
            "delivery_region_code, delivery_address, subtotal, vat_total, levy_total, total, "
            "credited_total, created_at, updated_at) VALUES ($1, $2, 'partially_fulfilled', "
            "'2026-11-20', '35.76.02.1005', 'SPPG', 0, 0, 0, 0, 0, now(), now())",
            order,
            kitchen,
        )
        legs: dict[str, uuid.UUID] = {}
        # (name, kind, owner, status, quantity, delivered, unit price, treatment)
        cases = [
            ("stock", "stock", coop, "delivered", 12, 12, 15_000, "standard"),
            ("short_bulog", "bulog_lot", bulog, "delivered", 10, 7, 62_000, "exempt"),
            ("calloff", "trade_contract", coop, "delivered", 5, 5, 55_000, "exempt"),
            ("consigned", "consignment", umkm, "delivered", 3, 3, 20_000, "standard"),
            ("on_the_truck", "stock", coop, "shipped", 4, None, 15_000, "standard"),
            ("nothing_arrived", "stock", coop, "delivered", 2, 0, 15_000, "standard"),
            ("posted_after_deploy", "stock", coop, "delivered", 6, 6, 15_500, "standard"),
        ]
        for n, (name, kind, owner, status, quantity, delivered, price, treatment) in enumerate(
            cases, start=1
        ):
            legs[name] = uuid.uuid4()
            subtotal = quantity * price
            vat = subtotal * 11 // 100 if treatment == "standard" else 0
            got = delivered or 0
            got_vat = got * price * 11 // 100 if treatment == "standard" else 0
            credit = (subtotal + vat) - (got * price + got_vat) if delivered is not None else 0
            await conn.execute(
                "INSERT INTO order_legs (id, order_id, line_no, kind, product_id, category, "
                "supplier_organization_id, owner_organization_id, buyer_organization_id, "
                "quantity, unit_price, subtotal, vat_treatment, vat_amount, levy_amount, "
                "status, delivered_at, delivered_quantity, credited_amount, created_at) "
                "VALUES ($1, $2, $3, $4, $5, 'oil', $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, "
                "$15, $16, $17, now())",
                legs[name],
                order,
                n,
                kind,
                product,
                coop,
                owner,
                kitchen,
                quantity,
                price,
                subtotal,
                treatment,
                vat,
                status,
                delivered_at if delivered is not None else None,
                delivered,
                credit,
            )
    finally:
        await conn.close()
    return {"kitchen": kitchen, "coop": coop, "legs": legs}


async def post_as_the_application(
    url: str, leg_id: uuid.UUID, kitchen: uuid.UUID, coop: uuid.UUID
) -> bool:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with unit_of_work(create_session_factory(engine)) as uow:
            gross = 6 * 15_500
            result = await LedgerService(uow).post(
                postings.stock_sale(leg_id, kitchen, coop, gross=gross, vat=gross * 11 // 100)
            )
            await uow.commit()
        return result.created
    finally:
        await engine.dispose()


POSTINGS = """
SELECT t.reference, t.id, t.kind, t.memo, e.organization_id, e.purpose, e.amount
  FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
 WHERE t.reference = ANY($1::text[])
 ORDER BY t.reference, e.purpose
"""


def test_delivered_legs_are_posted_once(service_urls: ServiceUrls) -> None:
    admin = make_url(service_urls.database_url).set(database="postgres").render_as_string(False)
    name = f"migration_{uuid.uuid4().hex[:10]}"
    asyncio.run(sql(admin, f'CREATE DATABASE "{name}"'))
    url = make_url(service_urls.database_url).set(database=name).render_as_string(False)
    try:
        for revision in BEFORE:
            upgrade(url, revision)
        books = asyncio.run(legs_before_the_fix(url))
        legs, kitchen, coop = books["legs"], books["kitchen"], books["coop"]
        early = legs["posted_after_deploy"]
        assert asyncio.run(post_as_the_application(url, early, kitchen, coop))
        references = [f"stock_sale:{leg}" for leg in legs.values()]
        [early_row] = asyncio.run(
            sql(
                url, "SELECT id, memo FROM ledger_transactions WHERE reference = $1", references[-1]
            )
        )

        upgrade(url, "heads")

        def postings_now() -> dict[str, list[tuple[Any, ...]]]:
            found: dict[str, list[tuple[Any, ...]]] = {}
            for r in asyncio.run(sql(url, POSTINGS, references)):
                found.setdefault(r["reference"], []).append(
                    (r["organization_id"], r["purpose"], r["amount"])
                )
            return found

        books_after = postings_now()
        by_leg = {name: books_after.get(f"stock_sale:{leg}") for name, leg in legs.items()}
        assert by_leg["stock"] == [
            (kitchen, "buyer_receivable", 12 * 15_000 + 19_800),
            (coop, "seller_payable", -12 * 15_000),
            (coop, "vat_payable", -19_800),
        ]
        assert by_leg["short_bulog"] == [  # what arrived, at the cooperative's price, no VAT
            (kitchen, "buyer_receivable", 7 * 62_000),
            (coop, "seller_payable", -7 * 62_000),
        ]
        assert by_leg["calloff"] == [
            (kitchen, "buyer_receivable", 5 * 55_000),
            (coop, "seller_payable", -5 * 55_000),
        ]
        for untouched in ("consigned", "on_the_truck", "nothing_arrived"):
            assert by_leg[untouched] is None, untouched
        assert all(sum(e[2] for e in entries) == 0 for entries in books_after.values())
        # The leg the application posted keeps its one transaction, as it was.
        [kept] = asyncio.run(
            sql(
                url, "SELECT id, memo FROM ledger_transactions WHERE reference = $1", references[-1]
            )
        )
        assert (kept["id"], kept["memo"]) == (early_row["id"], early_row["memo"])
        memos = asyncio.run(
            sql(
                url,
                "SELECT memo FROM ledger_transactions WHERE reference = $1",
                f"stock_sale:{legs['stock']}",
            )
        )
        assert memos[0]["memo"].endswith("delivered at 2026-11-20T03:00:00Z")
        # Time-ordered ids like the application's, so keyset readers see them as new.
        ids = asyncio.run(sql(url, "SELECT id FROM ledger_transactions ORDER BY id"))
        assert {r["id"].version for r in ids} == {7}
        assert ids[-1]["id"] != early_row["id"]  # posted after the application's one

        # What the migration posted is what the application posts: a replay, not a conflict.
        async def replay() -> bool:
            engine = create_engine(url, pool_size=1, max_overflow=0)
            try:
                async with unit_of_work(create_session_factory(engine)) as uow:
                    result = await LedgerService(uow).post(
                        postings.stock_sale(
                            legs["stock"], kitchen, coop, gross=12 * 15_000, vat=19_800
                        )
                    )
                return result.created
            finally:
                await engine.dispose()

        assert asyncio.run(replay()) is False

        # Run again (down to the ledger's head, up to heads): nothing more is posted.
        heads = {r[0] for r in asyncio.run(sql(url, "SELECT version_num FROM alembic_version"))}
        command.downgrade(alembic_config(url), "0003_ledger")
        down = {r[0] for r in asyncio.run(sql(url, "SELECT version_num FROM alembic_version"))}
        assert down == heads - {"0016_stock_leg_postings_backfill"} | {"0003_ledger"}
        upgrade(url, "heads")
        assert postings_now() == books_after
        [count] = asyncio.run(sql(url, "SELECT count(*) FROM ledger_transactions"))
        assert count[0] == 4
    finally:
        asyncio.run(sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
