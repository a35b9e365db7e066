"""The monthly roll-up the report reads equals the live aggregation of the raw rows, after
deliveries, corrections, cancellations, deletions and a cooperative's new time zone, and
after many deliveries of one cooperative at once; two writers of one cooperative and month
never wait on each other, and the worker's fold changes no figure."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.reports import tasks as reports_tasks
from marketplace.reports.domain import add_months
from marketplace.reports.domain.figures import sums_by_key
from marketplace.reports.figures_repository import FiguresRepository
from marketplace.worker import WorkerSettings
from tests.builders import orders
from tests.builders.catalog import new_listing
from tests.builders.documents import deliver, ship
from tests.builders.live_figures import live_grouped
from tests.builders.reports import TOMORROW, City, city, known_month
from tests.builders.worker import gaps_between_runs
from tests.support import Actors

FIRST, LAST = dt.date(2025, 1, 1), dt.date(2026, 12, 1)


async def both(
    factory: async_sessionmaker[AsyncSession],
    prefix: str,
    first: dt.date = FIRST,
    last: dt.date = LAST,
) -> tuple[dict[Any, dict[str, int]], dict[Any, dict[str, int]]]:
    """The grouped sums of the city from the roll-up and from the raw rows (a group whose
    figures all came to nothing, as a corrected month's may, is no group)."""
    start = add_months(last, -11)
    async with factory() as session:
        rolled = await FiguresRepository(session).grouped(prefix, None, first, start, last)
        live = await live_grouped(session, prefix, None, first, start, last)
    return nonzero(sums_by_key(rolled)), nonzero(sums_by_key(live))


def nonzero(sums: dict[Any, dict[str, int]]) -> dict[Any, dict[str, int]]:
    return {key: figures for key, figures in sums.items() if any(figures.values())}


async def execute(factory: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> int:
    """A write through the triggers, as any service or repair would make it."""
    async with factory() as session:
        done = await session.execute(text(sql), params)
        await session.commit()
    return int(done.rowcount)  # type: ignore[attr-defined]


async def test_the_roll_up_follows_deliveries_corrections_and_cancellations(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    c, _bulog = await known_month(client, actors, session_factory)
    rolled, live = await both(session_factory, c.code)
    assert rolled == live
    march = (c.coop_a.organization_id, dt.date(2026, 3, 1))
    assert rolled[march]["turnover"] == 1_000_000
    assert rolled[march]["buyers"] == 2

    # A receipt corrected (10 received → 7), a leg cancelled, a leg moved a month on.
    leg_of = (
        "SELECT id FROM order_legs WHERE supplier_organization_id = :coop AND quantity = :q "
        "AND kind <> 'consignment'"
    )
    async with session_factory() as session:
        ten = await session.scalar(text(leg_of), {"coop": c.coop_a.organization_id, "q": 10})
        five = await session.scalar(text(leg_of), {"coop": c.coop_a.organization_id, "q": 5})
        three = await session.scalar(text(leg_of), {"coop": c.coop_b.organization_id, "q": 3})
    assert await execute(
        session_factory, "UPDATE order_legs SET delivered_quantity = 7 WHERE id = :id", id=ten
    )
    assert await execute(
        session_factory, "UPDATE order_legs SET status = 'cancelled' WHERE id = :id", id=five
    )
    assert await execute(
        session_factory,
        "UPDATE order_legs SET delivered_at = delivered_at + interval '31 days' WHERE id = :id",
        id=three,
    )
    # A note written on a delivered leg changes no figure.
    assert await execute(
        session_factory, "UPDATE order_legs SET receipt_note = 'ok' WHERE id = :id", id=ten
    )
    # A trade shipment withdrawn, a Bulog purchase order's total corrected.
    assert await execute(
        session_factory,
        "DELETE FROM trade_shipments WHERE allotment_id IN "
        "(SELECT id FROM trade_allotments WHERE supplier_organization_id = :coop)",
        coop=c.coop_a.organization_id,
    )
    assert await execute(
        session_factory,
        "UPDATE bulog_purchase_orders SET total = total - 1000 "
        "WHERE cooperative_organization_id = :coop",
        coop=c.coop_a.organization_id,
    )
    rolled, live = await both(session_factory, c.code)
    assert rolled == live
    assert rolled[march]["turnover"] == 1_000_000 - 3 * 60_000 - 240_000
    assert rolled[march]["buyers"] == 2  # the stall still bought consigned oil
    assert rolled[march]["trade_quantity"] == 0
    b_april = (c.coop_b.organization_id, dt.date(2026, 4, 1))
    assert rolled[b_april]["turnover"] == 150_000 + 50_000
    assert (c.coop_b.organization_id, dt.date(2026, 3, 1)) not in rolled

    # The cooperative moves to Papua (UTC+9): its months are counted on its new clock.
    await execute(
        session_factory,
        "UPDATE organizations SET time_zone = 'Asia/Jayapura' WHERE id = :id",
        id=c.coop_a.organization_id,
    )
    # And a consignor moves out of the city: its goods are no longer local supply.
    await execute(
        session_factory,
        "UPDATE organizations SET region_code = '19.04.01.1001' WHERE id IN "
        "(SELECT consignor_id FROM consignment_sales WHERE cooperative_id = :coop)",
        coop=c.coop_a.organization_id,
    )
    rolled, live = await both(session_factory, c.code)
    assert rolled == live
    assert rolled[march]["local_consigned_supply"] == 0


async def delivered_legs(
    client: AsyncTestClient[Litestar], actors: Actors, c: City, count: int
) -> list[tuple[Any, str, int]]:
    """`count` legs of cooperative A to three buyers, shipped, not yet received."""
    listing = await new_listing(client, c.coop_a, c.rice, tiers=[(1, 61_000)], stock=200)
    buyers = [
        c.kitchen,
        c.stall,
        await actors.org("kitchen", "buyer", region_code=f"{c.code}.01.1005"),
    ]
    legs = []
    for i in range(count):
        buyer = buyers[i % len(buyers)]
        body = orders.order_body(
            [(c.rice, 1 + i % 4)],
            date=TOMORROW,
            region_code=buyer.region_code,
            pins={1: listing.id},
        )
        [leg] = (await orders.placed_order(client, buyer, body)).legs
        await ship(client, c.coop_a, leg.id)
        legs.append((buyer, leg.id, 1 + i % 4))
    return legs


async def test_many_deliveries_at_once_add_up(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    c = await city(actors, client)
    legs = await delivered_legs(client, actors, c, 16)
    # Every goods receipt at once: each adds to the same cooperative-month row.
    await asyncio.gather(*(deliver(client, buyer, leg, q) for buyer, leg, q in legs))
    # Next month too: a receipt just after local midnight of a month's last day.
    this_month = dt.date.today().replace(day=1)
    first, last = add_months(this_month, -12), add_months(this_month, 1)
    rolled, live = await both(session_factory, c.code, first, last)
    assert rolled == live
    coop = c.coop_a.organization_id
    month = [key for key in rolled if key[0] == coop and isinstance(key[1], dt.date)]
    assert len(month) == 1  # today's local month (the UTC day may differ at midnight)
    figures = rolled[month[0]]
    assert figures["turnover"] == sum(q for _b, _l, q in legs) * 61_000
    assert figures["buyers"] == 3

    # And the same legs corrected at once, in concurrent transactions straight on the rows.
    async def correct(leg_id: str) -> None:
        await execute(
            session_factory,
            "UPDATE order_legs SET delivered_quantity = delivered_quantity - 1 "
            "WHERE id = :id AND delivered_quantity > 0",
            id=uuid.UUID(leg_id),
        )

    await asyncio.gather(*(correct(leg) for _b, leg, _q in legs))
    rolled, live = await both(session_factory, c.code, first, last)
    assert rolled == live
    assert rolled[month[0]]["turnover"] == sum(q - 1 for _b, _l, q in legs) * 61_000


async def pending_rows(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as session:
        found = await session.scalar(
            text(
                "SELECT (SELECT count(*) FROM report_monthly_rollup_pending)"
                " + (SELECT count(*) FROM report_monthly_buyers_pending)"
                " + (SELECT count(*) FROM report_monthly_consignors_pending)"
            )
        )
    return int(found or 0)


async def test_writers_of_one_month_never_wait_and_the_fold_changes_no_figure(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    c = await city(actors, client)
    legs = await delivered_legs(client, actors, c, 4)
    for buyer, leg, quantity in legs:
        await deliver(client, buyer, leg, quantity)
    (_b, first_leg, _q), (_b2, second_leg, _q2) = legs[0], legs[1]
    # A correction of one leg is still open; a correction of another leg of the same
    # cooperative and month commits meanwhile (as two kitchens' receipts would).
    correction = "UPDATE order_legs SET delivered_quantity = delivered_quantity - 1 WHERE id = :id"
    async with session_factory() as open_one:
        await open_one.execute(text(correction), {"id": uuid.UUID(first_leg)})
        done = await asyncio.wait_for(
            execute(session_factory, correction, id=uuid.UUID(second_leg)), timeout=10
        )
        assert done == 1
        await open_one.commit()
    this_month = dt.date.today().replace(day=1)
    first, last = add_months(this_month, -12), add_months(this_month, 1)
    before, live = await both(session_factory, c.code, first, last)
    assert before == live
    assert await pending_rows(session_factory) > 0
    async with session_factory() as session:
        assert await FiguresRepository(session).fold() > 0
        await session.commit()
    assert await pending_rows(session_factory) == 0
    after, _live = await both(session_factory, c.code, first, last)
    assert after == before


def test_the_fold_runs_at_start_and_every_ten_seconds() -> None:
    [job] = [c for c in WorkerSettings.cron_jobs if c.name == reports_tasks.FOLD_ROLLUP_JOB]
    assert job.coroutine is reports_tasks.fold_rollup
    assert job.run_at_startup
    assert gaps_between_runs(job, 12) == {dt.timedelta(seconds=10)}
