"""Settlement runs: exactly once under concurrent runs and a worker killed mid-run.

A statement settles the range ``(from_seq, to_seq]`` of its consignor's record numbers;
a sale's statement is found by a range join (`SALE_STATEMENTS`).
"""

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
from marketplace.consignment.domain import SettlementMismatch
from marketplace.consignment.models import Sale
from marketplace.consignment.repository import ConsignmentRepository
from marketplace.consignment.sales import SaleRecorder
from marketplace.consignment.settlement_repository import SettlementRepository
from marketplace.consignment.settlement_service import SettlementService
from marketplace.db import UnitOfWork, unit_of_work
from marketplace.ids import new_id
from marketplace.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
Factory = async_sessionmaker[AsyncSession]
HOUR = dt.timedelta(hours=1)

# Every (sale, statement) pair whose range holds the sale.
SALE_STATEMENTS = """
    SELECT s.id AS sale_id, st.id AS statement_id
      FROM consignment_sales s
      JOIN consignment_statements st
        ON st.cooperative_id = s.cooperative_id AND st.consignor_id = s.consignor_id
       AND s.seq > st.from_seq AND s.seq <= st.to_seq
     WHERE s.cooperative_id = :c
"""


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
                    "SELECT count(*), COALESCE(sum(gross_amount), 0), "
                    "COALESCE(sum(commission_amount), 0) "
                    "FROM consignment_sales WHERE cooperative_id = :coop"
                ),
                {"coop": coop},
            )
        ).one()
    return coop, int(row[0]), int(row[1]), int(row[2])


async def only_consignor(factory: Factory, coop: uuid.UUID) -> uuid.UUID:
    """The consignor of a cooperative seeded with one agreement."""
    async with factory() as session:
        consignor: uuid.UUID = (
            await session.execute(
                text("SELECT consignor_id FROM consignment_agreements WHERE cooperative_id = :c"),
                {"c": coop},
            )
        ).scalar_one()
    return consignor


async def record_sale(
    uow: UnitOfWork,
    coop: uuid.UUID,
    consignor: uuid.UUID,
    *,
    unit_price: int,
    quantity: int = 1,
    vat_treatment: str = "exempt",
    sold_at: dt.datetime | None = None,
) -> Sale | None:
    """One delivered consignment leg's sale, as `SaleRecorder` books it (ids are new)."""
    return await SaleRecorder(uow).record(
        leg_id=new_id(),
        order_id=new_id(),
        listing_id=None,
        product_id=new_id(),
        cooperative_id=coop,
        consignor_id=consignor,
        buyer_id=coop,
        quantity=quantity,
        unit_price=unit_price,
        vat_treatment=vat_treatment,
        sold_at=sold_at,
    )


async def assert_settled_once(
    factory: Factory, coop: uuid.UUID, count: int, gross: int, commission: int
) -> None:
    async with factory() as session:
        unsettled, twice = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM consignment_sales WHERE cooperative_id = :c) "
                    f"- count(DISTINCT x.sale_id), count(*) - count(DISTINCT x.sale_id) "
                    f"FROM ({SALE_STATEMENTS}) x"
                ),
                {"c": coop},
            )
        ).one()
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
                          FROM consignment_sales s
                         WHERE s.cooperative_id = st.cooperative_id
                           AND s.consignor_id = st.consignor_id
                           AND s.seq > st.from_seq AND s.seq <= st.to_seq) x ON true
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
    assert twice == 0  # no sale in two statements
    assert mismatched == 0
    assert tuple(int(v) for v in totals) == (count, gross, commission, gross - commission)
    assert int(payouts) == gross - commission


@pytest.mark.parametrize("advisory_lock", [True, False], ids=["serialised", "no-lock"])
async def test_concurrent_runs_settle_every_sale_exactly_once(
    session_factory: Factory, monkeypatch: pytest.MonkeyPatch, advisory_lock: bool
) -> None:
    coop, count, gross, commission = await seed(session_factory)
    if not advisory_lock:
        # The database alone (overlapping ranges refused) must still hold the line.
        async def no_lock(self: ConsignmentRepository, *args: object, **kwargs: object) -> None:
            return None

        monkeypatch.setattr(ConsignmentRepository, "lock_records", no_lock)
    cutoff = dt.datetime.now(dt.UTC)

    async def run() -> None:
        async with unit_of_work(session_factory) as uow:
            await SettlementService(uow).settle(coop, cutoff)
            await uow.commit()

    outcomes = await asyncio.gather(*(run() for _ in range(4)), return_exceptions=True)
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    if advisory_lock:
        assert failed == []
    else:
        # A run that raced the winner is refused as a whole (409, retry), never partly kept.
        assert all(isinstance(o, SettlementMismatch) for o in failed), failed
        assert len(failed) < 4
        await run()  # the retry settles nothing more
    await assert_settled_once(session_factory, coop, count, gross, commission)


async def test_a_settled_sale_can_never_move(session_factory: Factory) -> None:
    coop, count, gross, commission = await seed(session_factory, consignors=1, sales_each=3)
    async with unit_of_work(session_factory) as uow:
        await SettlementService(uow).settle(coop, dt.datetime.now(dt.UTC))
        await uow.commit()
    refused = [
        # A sale renumbered out of its statement's range, or removed.
        "UPDATE consignment_sales SET seq = DEFAULT WHERE cooperative_id = :c",
        "DELETE FROM consignment_sales WHERE cooperative_id = :c",
        # A statement's range moved or the statement removed.
        "UPDATE consignment_statements SET to_seq = to_seq - 1 WHERE cooperative_id = :c",
        "DELETE FROM consignment_statements WHERE cooperative_id = :c",
        # A second statement over (part of) the same range.
        *[
            "INSERT INTO consignment_statements (id, run_id, cooperative_id, consignor_id, "
            "cutoff, from_seq, to_seq, opening_balance, sales_count, gross_sales, commission, "
            "net_sales, returns_count, returns_quantity, adjustments_total, payout_due, "
            "closing_balance) SELECT gen_random_uuid(), run_id, cooperative_id, consignor_id, "
            f"cutoff, {start}, {end}, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 "
            "FROM consignment_statements WHERE cooperative_id = :c"
            for start, end in [
                ("from_seq", "to_seq"),  # the same range again
                ("from_seq + 1", "to_seq + 1"),  # overlapping
                ("to_seq + 1", "to_seq + 2"),  # leaving a gap after the last one
            ]
        ],
    ]
    for sql in refused:
        async with session_factory() as session:
            with pytest.raises(DBAPIError):
                await session.execute(text(sql), {"c": coop})
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
                text(f"SELECT count(*) FROM ({SALE_STATEMENTS}) x"),
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
    from marketplace.consignment.domain.settlement import SaleRecord, build_statement

    coop, *_ = await seed(session_factory, consignors=3, sales_each=17)
    cutoff = dt.datetime.now(dt.UTC)
    async with unit_of_work(session_factory) as uow:
        run = await SettlementService(uow).settle(coop, cutoff)
        await uow.commit()
    async with session_factory() as session:
        repo = SettlementRepository(session)
        statements = await repo.statements_of_run(run.id)
        assert len(statements) == 3
        for statement in statements:
            sales = await repo.sales_of_statement(statement)
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


@pytest.mark.parametrize("record_lock", [True, False], ids=["locked", "no-lock"])
async def test_a_sale_in_flight_is_never_passed_over(
    session_factory: Factory, monkeypatch: pytest.MonkeyPatch, record_lock: bool
) -> None:
    """A sale takes its number before it commits. A run starting meanwhile must not pick
    a range ending above that number without the sale in it: the sale's shared record
    lock makes the run wait for it. Without the lock (the no-lock case shows the gap is
    real) a later sale with a higher number is settled and the in-flight one never is."""
    if not record_lock:

        async def no_lock(self: ConsignmentRepository, *args: object, **kwargs: object) -> None:
            return None

        monkeypatch.setattr(ConsignmentRepository, "lock_records", no_lock)
    coop, *_ = await seed(session_factory, consignors=1, sales_each=2)
    consignor = await only_consignor(session_factory, coop)

    async def record(uow: UnitOfWork, price: int) -> None:
        await record_sale(uow, coop, consignor, unit_price=price)

    async def settle() -> None:
        async with unit_of_work(session_factory) as uow:
            await SettlementService(uow).settle(coop, dt.datetime.now(dt.UTC) + HOUR)
            await uow.commit()

    async with unit_of_work(session_factory) as in_flight:
        await record(in_flight, 1_000)  # numbered now, committed later
        # Another sale of the same consignor, numbered after it, commits first.
        async with unit_of_work(session_factory) as later:
            await record(later, 2_000)
            await later.commit()
        run = asyncio.create_task(settle())
        await asyncio.sleep(0.5)
        assert run.done() is not record_lock  # the run waits for the sale in flight
        await in_flight.commit()
    await asyncio.wait_for(run, timeout=30)
    await settle()  # the next run settles whatever is left, if it can
    async with session_factory() as session:
        in_ranges, counted = (
            await session.execute(
                text(
                    f"SELECT (SELECT count(*) FROM ({SALE_STATEMENTS}) x), "
                    "(SELECT COALESCE(sum(sales_count), 0) FROM consignment_statements "
                    "WHERE cooperative_id = :c)"
                ),
                {"c": coop},
            )
        ).one()
        totals = (
            await session.execute(
                text(
                    "SELECT count(*), sum(gross_amount), sum(commission_amount) "
                    "FROM consignment_sales WHERE cooperative_id = :c"
                ),
                {"c": coop},
            )
        ).one()
    if record_lock:
        await assert_settled_once(session_factory, coop, *(int(v) for v in totals))
    else:
        # The gap is real without the lock: the in-flight sale's number fell inside a
        # range whose totals were summed before it committed, so it is never paid.
        assert (in_ranges, counted) == (4, 3)


async def test_sale_vat_is_the_legs_not_recomputed_from_the_registration(
    session_factory: Factory,
) -> None:
    """sales.py charges what the leg charged: a VAT-registered consignor's sale on an
    exempt leg (basic staples) posts no VAT, on a standard leg it posts the leg's VAT."""
    coop, *_ = await seed(session_factory, consignors=1, sales_each=1)
    consignor = await only_consignor(session_factory, coop)
    async with session_factory() as session:
        await session.execute(
            text("UPDATE organizations SET vat_registered = true WHERE id = :o"),
            {"o": consignor},
        )
        await session.commit()
    vats = {}
    for treatment in ("exempt", "standard"):
        async with unit_of_work(session_factory) as uow:
            sale = await record_sale(
                uow, coop, consignor, quantity=3, unit_price=10_000, vat_treatment=treatment
            )
            await uow.commit()
        assert sale is not None
        vats[treatment] = sale.vat_amount
    assert vats == {"exempt": 0, "standard": 3_300}


async def test_a_past_cutoff_stops_the_range_and_skips_nothing(session_factory: Factory) -> None:
    """With a cut-off in the past, a statement's range stops before the first record made
    at or after it; a record numbered later but sold earlier waits for the next statement
    rather than being skipped or settled out of its range."""
    coop, *_ = await seed(session_factory, consignors=1, sales_each=0)
    consignor = await only_consignor(session_factory, coop)
    now = dt.datetime.now(dt.UTC)
    hours_ago = {"first": 3.0, "late": 1.0, "earlier-but-after": 2.0}
    for price, ago in zip((1_000, 2_000, 4_000), hours_ago.values(), strict=True):
        async with unit_of_work(session_factory) as uow:
            await record_sale(
                uow, coop, consignor, unit_price=price, sold_at=now - dt.timedelta(hours=ago)
            )
            await uow.commit()

    async def settle(cutoff: dt.datetime) -> list[int]:
        async with unit_of_work(session_factory) as uow:
            run = await SettlementService(uow).settle(coop, cutoff)
            await uow.commit()
        async with session_factory() as session:
            repo = SettlementRepository(session)
            return [
                sale.gross_amount
                for statement in await repo.statements_of_run(run.id)
                for sale in await repo.sales_of_statement(statement)
            ]

    # 90 minutes ago: the sale of 1 hour ago stops the range; the one of 2 hours ago,
    # numbered after it, waits with it.
    assert await settle(now - dt.timedelta(minutes=90)) == [1_000]
    assert sorted(await settle(now)) == [2_000, 4_000]
    assert await settle(now) == []
    # 5% commission (the first seeded agreement): 50 + 100 + 200.
    await assert_settled_once(session_factory, coop, 3, 7_000, 350)
