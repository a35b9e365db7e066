"""One settled consignment statement to read back (`bench/http.py`): a UMKM with an API key
(made by the production service), a week of its sales at a cooperative with a return and
an adjustment (rows written straight, as `bench/consignment_settlement.py` writes them),
settled by the production `SettlementService`, so the statement and its payout are what
the product makes."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from marketplace.accounts.domain import OrganizationKind, Role
from marketplace.accounts.schemas import ApiKeyCreate, OrganizationCreate
from marketplace.accounts.service import AccountsService
from marketplace.consignment.settlement_service import SettlementService
from marketplace.db import create_engine, create_session_factory, unit_of_work
from marketplace.read_pool import asyncpg_dsn

# A busy week of one UMKM at its cooperative: about four sales a day.
SALES = 30
RETURNS = 2
REGION = "35.76.02.1005"


async def _consignor_with_key(database_url: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    """(cooperative, consignor, the consignor's raw admin key)."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with unit_of_work(create_session_factory(engine)) as uow:
            service = AccountsService(uow)
            made = []
            for kind in (OrganizationKind.COOPERATIVE, OrganizationKind.UMKM):
                suffix = uuid.uuid4().hex[:10]
                made.append(
                    await service.create_organization(
                        None,
                        OrganizationCreate(
                            kind=kind,
                            name=f"{kind.value} bench {suffix}",
                            slug=f"bench-{kind.value}-{suffix}",
                            region_code=REGION,
                            city="Kota Mojokerto",
                        ),
                    )
                )
            coop, umkm = made
            _, raw = await service.create_api_key(None, umkm.id, ApiKeyCreate(role=Role.ADMIN))
            await uow.commit()
        return coop.id, umkm.id, raw
    finally:
        await engine.dispose()


async def _records(database_url: str, coop: uuid.UUID, umkm: uuid.UUID) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        agreement = await conn.fetchval(
            """
            INSERT INTO consignment_agreements (id, cooperative_id, consignor_id, commission_bps,
                settlement_cycle_days, bank_name, bank_account_number, bank_account_holder,
                status, created_at, updated_at)
            VALUES (uuidv7(), $1, $2, 1000, 7, 'BRI', '0123456789', 'Bu Sri', 'active',
                    now() - interval '8 days', now() - interval '8 days')
            RETURNING id
            """,
            coop,
            umkm,
        )
        product, listing = await conn.fetchrow(
            "SELECT product_id, id FROM listings ORDER BY id LIMIT 1"
        )
        await conn.execute(
            """
            INSERT INTO consignment_sales (id, leg_id, order_id, listing_id, agreement_id,
                cooperative_id, consignor_id, buyer_id, product_id, quantity, unit_price,
                gross_amount, commission_bps, commission_amount, vat_amount, sold_at)
            SELECT uuidv7(), uuidv7(), uuidv7(), $4, $3, $1, $2, $1, $5, 1 + g % 7, 12_000,
                   (1 + g % 7) * 12_000, 1000, (1 + g % 7) * 12_000 / 10, 0,
                   now() - interval '7 days' + g * interval '5 hours'
              FROM generate_series(1, $6) AS g
            """,
            coop,
            umkm,
            agreement,
            listing,
            product,
            SALES,
        )
        await conn.execute(
            """
            INSERT INTO consignment_returns (id, agreement_id, cooperative_id, consignor_id,
                listing_id, intake_id, quantity, reason, returned_at)
            SELECT uuidv7(), $3, $1, $2, $4, NULL, g, 'kemasan rusak',
                   now() - interval '2 days' + g * interval '1 hour'
              FROM generate_series(1, $5) AS g
            """,
            coop,
            umkm,
            agreement,
            listing,
            RETURNS,
        )
        await conn.execute(
            """
            INSERT INTO consignment_adjustments (id, agreement_id, cooperative_id, consignor_id,
                amount, reason, created_at)
            VALUES (uuidv7(), $3, $1, $2, -15_000, 'satu karung basah', now())
            """,
            coop,
            umkm,
            agreement,
        )
    finally:
        await conn.close()


async def a_statement(database_url: str) -> tuple[str, uuid.UUID, str]:
    """(statement id, the consignor's organization id, its raw key)."""
    coop, umkm, key = await _consignor_with_key(database_url)
    await _records(database_url, coop, umkm)
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with unit_of_work(create_session_factory(engine)) as uow:
            service = SettlementService(uow)
            run = await service.settle(coop, dt.datetime.now(dt.UTC), consignor_ids=[umkm])
            [statement], _ = await service.run_view(run)
            await uow.commit()
        return str(statement.id), umkm, key
    finally:
        await engine.dispose()
