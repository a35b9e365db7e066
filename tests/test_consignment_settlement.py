"""Settlement runs: exactly once under concurrent runs and a worker killed mid-run."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import OrganizationKind
from marketplace.accounts.schemas import OrganizationCreate
from marketplace.accounts.service import AccountsService
from marketplace.consignment.repository import ConsignmentRepository
from marketplace.consignment.settlement_service import SettlementService
from marketplace.db import unit_of_work
from marketplace.ids import new_id
from marketplace.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
Factory = async_sessionmaker[AsyncSession]


async def new_org(factory: Factory, kind: OrganizationKind) -> uuid.UUID:
    async with unit_of_work(factory) as uow:
        org = await AccountsService(uow).create_organization(
            None,
            OrganizationCreate(
                kind=kind,
                name=f"{kind.value} {uuid.uuid4().hex[:6]}",
                slug=f"t-{kind.value.replace('_', '-')}-{uuid.uuid4().hex[:12]}",
                region_code="35.76.02.1005",
                city="Kota Mojokerto",
            ),
        )
        await uow.commit()
        return org.id


async def seed(
    factory: Factory, consignors: int = 6, sales_each: int = 50
) -> tuple[uuid.UUID, int, int, int]:
    """A cooperative with `consignors` agreements and `sales_each` unsettled sales each, made
    in SQL. Returns (cooperative, sales count, gross, commission)."""
    coop = await new_org(factory, OrganizationKind.COOPERATIVE)
    umkms = [await new_org(factory, OrganizationKind.UMKM) for _ in range(consignors)]
    async with factory() as session:
        for i, umkm in enumerate(umkms):
            await session.execute(
                text(
                    "INSERT INTO consignment_agreements (id, cooperative_id, consignor_id, "
                    "commission_bps, settlement_cycle_days, bank_name, bank_account_number, "
                    "bank_account_holder, status, created_at, updated_at) VALUES "
                    "(:id, :coop, :umkm, :bps, 7, 'BRI', '0123456789', 'x', 'active', now(), now())"
                ),
                {"id": new_id(), "coop": coop, "umkm": umkm, "bps": 500 + 250 * i},
            )
        await session.execute(
            text(
                """
                INSERT INTO consignment_sales (id, leg_id, order_id, listing_id, agreement_id,
                    cooperative_id, consignor_id, buyer_id, product_id, quantity, unit_price,
                    gross_amount, commission_bps, commission_amount, vat_amount, sold_at)
                SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), NULL, a.id,
                       a.cooperative_id, a.consignor_id, a.cooperative_id, gen_random_uuid(),
                       g, 12_345, g * 12_345, a.commission_bps,
                       g * 12_345 * a.commission_bps / 10000, 0,
                       now() - interval '1 hour'
                  FROM consignment_agreements a CROSS JOIN generate_series(1, :n) AS g
                 WHERE a.cooperative_id = :coop
                """
            ),
            {"coop": coop, "n": sales_each},
        )
        await session.commit()
        row = (
            await session.execute(
                text(
                    "SELECT count(*), sum(gross_amount), sum(commission_amount) "
                    "FROM consignment_sales WHERE cooperative_id = :coop"
                ),
                {"coop": coop},
            )
        ).one()
    return coop, int(row[0]), int(row[1]), int(row[2])


async def assert_settled_once(
    factory: Factory, coop: uuid.UUID, count: int, gross: int, commission: int
) -> None:
    async with factory() as session:
        unsettled = (
            await session.execute(
                text(
                    "SELECT count(*) FROM consignment_sales "
                    "WHERE cooperative_id = :c AND statement_id IS NULL"
                ),
                {"c": coop},
            )
        ).scalar_one()
        totals = (
            await session.execute(
                text(
                    "SELECT COALESCE(sum(sales_count), 0), COALESCE(sum(gross_sales), 0), "
                    "COALESCE(sum(commission), 0), COALESCE(sum(payout_due), 0) "
                    "FROM consignment_statements WHERE cooperative_id = :c"
                ),
                {"c": coop},
            )
        ).one()
        # Every statement's totals are exactly its own sales.
        mismatched = (
            await session.execute(
                text(
                    """
                    SELECT count(*) FROM consignment_statements st
                      LEFT JOIN LATERAL (
                        SELECT count(*) AS n, COALESCE(sum(gross_amount), 0) AS g,
                               COALESCE(sum(commission_amount), 0) AS c
                          FROM consignment_sales s WHERE s.statement_id = st.id) x ON true
                     WHERE st.cooperative_id = :c
                       AND (x.n <> st.sales_count OR x.g <> st.gross_sales
                            OR x.c <> st.commission)
                    """
                ),
                {"c": coop},
            )
        ).scalar_one()
        payouts = (
            await session.execute(
                text(
                    "SELECT COALESCE(sum(amount), 0) FROM consignment_payouts "
                    "WHERE cooperative_id = :c"
                ),
                {"c": coop},
            )
        ).scalar_one()
    assert unsettled == 0
    assert mismatched == 0
    assert tuple(int(v) for v in totals) == (count, gross, commission, gross - commission)
    assert int(payouts) == gross - commission


@pytest.mark.parametrize("advisory_lock", [True, False], ids=["serialised", "no-lock"])
async def test_concurrent_runs_settle_every_sale_exactly_once(
    session_factory: Factory, monkeypatch: pytest.MonkeyPatch, advisory_lock: bool
) -> None:
    coop, count, gross, commission = await seed(session_factory)
    if not advisory_lock:
        # The database alone (claim WHERE statement_id IS NULL) must still hold the line.
        async def no_lock(self: ConsignmentRepository, key: str) -> None:
            return None

        monkeypatch.setattr(ConsignmentRepository, "lock", no_lock)
    cutoff = dt.datetime.now(dt.UTC)

    async def run() -> None:
        async with unit_of_work(session_factory) as uow:
            await SettlementService(uow).settle(coop, cutoff)
            await uow.commit()

    await asyncio.gather(*(run() for _ in range(4)))
    await assert_settled_once(session_factory, coop, count, gross, commission)


async def test_a_settled_sale_can_never_move(session_factory: Factory) -> None:
    coop, count, gross, commission = await seed(session_factory, consignors=1, sales_each=3)
    async with unit_of_work(session_factory) as uow:
        await SettlementService(uow).settle(coop, dt.datetime.now(dt.UTC))
        await uow.commit()
    async with session_factory() as session:
        with pytest.raises(DBAPIError, match="is settled by statement"):
            await session.execute(
                text("UPDATE consignment_sales SET statement_id = NULL WHERE cooperative_id = :c"),
                {"c": coop},
            )
        await session.rollback()
    await assert_settled_once(session_factory, coop, count, gross, commission)


KILLED_RUN = """
import asyncio, datetime as dt, sys, uuid
from marketplace.db import create_engine, create_session_factory, unit_of_work
from marketplace.consignment.settlement_service import SettlementService

async def main() -> None:
    engine = create_engine(sys.argv[1])
    async with unit_of_work(create_session_factory(engine)) as uow:
        cutoff = dt.datetime.fromisoformat(sys.argv[3])
        await SettlementService(uow).settle(uuid.UUID(sys.argv[2]), cutoff)
        print("CLAIMED", flush=True)
        await asyncio.sleep(120)  # killed here, before the commit
        await uow.commit()

asyncio.run(main())
"""


async def test_worker_killed_mid_run_then_rerun_settles_once(
    session_factory: Factory, settings: Settings
) -> None:
    coop, count, gross, commission = await seed(session_factory, consignors=8, sales_each=200)
    cutoff = dt.datetime.now(dt.UTC)
    assert settings.database_url is not None
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLED_RUN,
        settings.database_url,
        str(coop),
        cutoff.isoformat(),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    assert line.strip() == b"CLAIMED"
    os.kill(proc.pid, signal.SIGKILL)
    assert await asyncio.wait_for(proc.wait(), timeout=10) == -signal.SIGKILL

    async with session_factory() as session:
        statements = (
            await session.execute(
                text("SELECT count(*) FROM consignment_statements WHERE cooperative_id = :c"),
                {"c": coop},
            )
        ).scalar_one()
    assert statements == 0  # the killed run left nothing behind

    async def rerun() -> None:
        async with unit_of_work(session_factory) as uow:
            await SettlementService(uow).settle(coop, cutoff)
            await uow.commit()

    await asyncio.wait_for(rerun(), timeout=60)  # waits for the dead backend's locks
    await rerun()  # a retry of a finished run settles nothing more
    await assert_settled_once(session_factory, coop, count, gross, commission)


async def test_cron_settles_agreements_whose_cycle_elapsed(session_factory: Factory) -> None:
    from marketplace.consignment import tasks

    coop, count, gross, commission = await seed(session_factory, consignors=3, sales_each=4)
    async with session_factory() as session:
        # Two agreements are due (7-day cycle, signed 8 days ago); one is not yet.
        await session.execute(
            text(
                "UPDATE consignment_agreements SET created_at = now() - interval '8 days' "
                "WHERE cooperative_id = :c AND commission_bps < 1000"
            ),
            {"c": coop},
        )
        await session.commit()
    await tasks.settle_due({"session_factory": session_factory})
    async with session_factory() as session:
        settled = (
            await session.execute(
                text(
                    "SELECT count(*) FROM consignment_sales "
                    "WHERE cooperative_id = :c AND statement_id IS NOT NULL"
                ),
                {"c": coop},
            )
        ).scalar_one()
        due_again = (
            await session.execute(
                text(
                    "SELECT count(*) FROM consignment_agreements WHERE cooperative_id = :c "
                    "AND last_settled_at IS NOT NULL"
                ),
                {"c": coop},
            )
        ).scalar_one()
    assert settled == 2 * 4  # only the two due consignors' sales
    assert due_again == 2
    await tasks.settle_due({"session_factory": session_factory})  # not due again yet
    async with session_factory() as session:
        statements = (
            await session.execute(
                text("SELECT count(*) FROM consignment_statements WHERE cooperative_id = :c"),
                {"c": coop},
            )
        ).scalar_one()
    assert statements == 2
    assert (count, gross, commission) != (0, 0, 0)


async def test_sql_statements_agree_with_the_pure_rule(session_factory: Factory) -> None:
    """The set-based run computes what `settlement.build_statement` says, to the rupiah."""
    from marketplace.consignment.settlement import SaleRecord, build_statement

    coop, *_ = await seed(session_factory, consignors=3, sales_each=17)
    cutoff = dt.datetime.now(dt.UTC)
    async with unit_of_work(session_factory) as uow:
        run = await SettlementService(uow).settle(coop, cutoff)
        await uow.commit()
    async with session_factory() as session:
        repo = ConsignmentRepository(session)
        statements = await repo.statements_of_run(run.id)
        assert len(statements) == 3
        for statement in statements:
            sales = await repo.sales_of_statement(statement.id)
            expected = build_statement(
                statement.consignor_id,
                statement.opening_balance,
                [
                    SaleRecord(
                        sale_id=s.id,
                        consignor_id=s.consignor_id,
                        gross_amount=s.gross_amount,
                        commission_amount=s.commission_amount,
                        sold_at=s.sold_at,
                    )
                    for s in sales
                ],
                [],
                [],
                cutoff,
            )
            got = (
                statement.sales_count,
                statement.gross_sales,
                statement.commission,
                statement.net_sales,
                statement.payout_due,
                statement.closing_balance,
            )
            assert got == (
                expected.sales_count,
                expected.gross_sales,
                expected.commission,
                expected.net_sales,
                expected.payout_due,
                expected.closing_balance,
            )
