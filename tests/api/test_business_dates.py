"""Business dates are the organization's local dates, never UTC's (issue 13, item 15).

Every test freezes the clock at 01:00 WIB on Monday 30 November 2026 — 18:00 UTC on Sunday
the 29th, so UTC is still on the previous day and the previous ISO week. (A day in the past:
what the tests write must not look newer than the real clock to tests sharing the database,
such as the OCDS feed's.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import clock
from marketplace.consignment.settlement_service import SettlementService
from marketplace.db import unit_of_work
from tests.api.test_consignment import ConsignmentWorld, make_agreement
from tests.api.test_consignment import world as world
from tests.api.test_sourcing import SourcingWorld, rfq_body
from tests.api.test_sourcing import world as sourcing_world  # noqa: F401
from tests.api.test_trade_contracts import TradeWorld, contract_body, create_contract
from tests.api.test_trade_contracts import trade_world as trade_world
from tests.builders.consignment import intake_body, post_intake
from tests.support import Actors, assert_problem

MONDAY = dt.date(2026, 11, 30)
MONDAY_0100_WIB = dt.datetime(2026, 11, 29, 18, 0, tzinfo=dt.UTC)


async def ship_without_date(
    client: AsyncTestClient[Litestar], w: TradeWorld, start: dt.date
) -> Any:
    a, b, c = w.coops
    contract = await create_contract(
        client,
        w.tc,
        contract_body(
            w.eggs.id,
            w.depok,
            [(a, 70), (b, 50), (c, 30)],
            start_date=start.isoformat(),
            end_date=(MONDAY + dt.timedelta(days=60)).isoformat(),
        ),
    )
    allotment = contract["allotments"][0]["id"]
    with clock.frozen_at(MONDAY_0100_WIB):
        response = await client.post(
            f"/v1/procurement/trade-contracts/{contract['id']}/shipments",
            json={"allotment_id": allotment, "quantity": 5, "reference": "SJ-0100"},
            headers={**a.headers, "Idempotency-Key": f"sj-{contract['id']}"},
        )
    return contract, response


async def test_a_shipment_at_0100_wib_takes_the_jakarta_date(
    client: AsyncTestClient[Litestar], trade_world: TradeWorld
) -> None:
    """A contract starting today: the shipment is today's (UTC's date is yesterday's,
    outside the contract)."""
    _, response = await ship_without_date(client, trade_world, start=MONDAY)
    assert response.status_code == 201, response.text
    assert response.json()["week_start"] == MONDAY.isoformat()


async def test_a_monday_0100_wib_shipment_takes_this_iso_weeks_volume(
    client: AsyncTestClient[Litestar], trade_world: TradeWorld
) -> None:
    contract, response = await ship_without_date(
        client, trade_world, start=MONDAY - dt.timedelta(days=7)
    )
    assert response.status_code == 201, response.text
    assert response.json()["week_start"] == MONDAY.isoformat()
    weeks = {w["week_start"]: w for w in response.json()["contract"]["weeks"]}
    assert weeks[MONDAY.isoformat()]["shipped"] == 5
    assert weeks[MONDAY.isoformat()]["iso_week"] == "2026-W49"
    assert weeks[(MONDAY - dt.timedelta(days=7)).isoformat()]["shipped"] == 0
    assert contract["id"] == response.json()["contract_id"]


async def test_expiry_is_checked_and_flagged_in_each_cooperatives_calendar(
    client: AsyncTestClient[Litestar],
    world: ConsignmentWorld,
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from marketplace.consignment import tasks

    w = world
    utc_coop = await actors.org("cooperative", "admin", time_zone="UTC")

    agreements = {
        coop.organization_id: (await make_agreement(client, coop, w.umkm))["id"]
        for coop in (w.coop, utc_coop)
    }

    async def intake(coop: Any, expiry: dt.date) -> Any:
        return await post_intake(
            client,
            coop,
            intake_body(
                agreements[coop.organization_id],
                w.rice.id,
                quantity=4,
                unit_price=50_000,
                expiry_date=expiry,
            ),
        )

    with clock.frozen_at(MONDAY_0100_WIB):
        # Already Monday in Mojokerto: goods expiring today are not "in the future".
        refused = await intake(w.coop, MONDAY)
        assert_problem(refused, 422, "validation_failed")
        assert refused.json()["extra"]["today"] == MONDAY.isoformat()
    with clock.frozen_at(MONDAY_0100_WIB - dt.timedelta(days=3)):
        jakarta = await intake(w.coop, MONDAY - dt.timedelta(days=1))
        in_utc = await intake(utc_coop, MONDAY - dt.timedelta(days=1))
    assert (jakarta.status_code, in_utc.status_code) == (201, 201), (jakarta.text, in_utc.text)

    # Expiring on Sunday: past in Mojokerto at 01:00 WIB Monday, still today for a
    # cooperative keeping UTC.
    with clock.frozen_at(MONDAY_0100_WIB):
        await tasks.flag_expired({"session_factory": session_factory})
    flagged = {}
    for coop, created in ((w.coop, jakarta), (utc_coop, in_utc)):
        got = await client.get(
            f"/v1/consignment/intakes/{created.json()['id']}", headers=coop.headers
        )
        flagged[coop.organization_id] = got.json()["expired_flagged_at"] is not None
    assert flagged == {w.coop.organization_id: True, utc_coop.organization_id: False}


async def test_a_weekly_settlement_is_due_from_the_cooperatives_midnight(
    client: AsyncTestClient[Litestar],
    world: ConsignmentWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Settled last Monday at 23:00 WIB (16:00 UTC): a 7-day cycle is due again from this
    Monday's local midnight, not from 16:00 UTC (which would make it Monday afternoon)."""
    w = world
    agreement = await make_agreement(client, w.coop, w.umkm)
    async with session_factory() as session:
        await session.execute(
            text("UPDATE consignment_agreements SET last_settled_at = :at WHERE id = :id"),
            {"at": dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC), "id": agreement["id"]},
        )
        await session.commit()

    async def due_at(moment: dt.datetime) -> bool:
        with clock.frozen_at(moment):
            async with unit_of_work(session_factory) as uow:
                due = await SettlementService(uow).due()
        return w.umkm.organization_id in due.get(w.coop.organization_id, [])

    assert not await due_at(MONDAY_0100_WIB - dt.timedelta(hours=1, minutes=30))  # Sun 23:30
    assert await due_at(MONDAY_0100_WIB - dt.timedelta(minutes=30))  # Mon 00:30 WIB


async def test_an_rfq_deadline_closes_on_the_offices_date(
    client: AsyncTestClient[Litestar],
    sourcing_world: SourcingWorld,  # noqa: F811
) -> None:
    """Quotes close at 01:00 WIB on Monday, sent in UTC (Sunday 18:00Z): delivery on
    Sunday is before quotes close; on Monday it is not."""
    office, rice = sourcing_world.office, sourcing_world.rice.id

    def body(delivery: dt.date) -> dict[str, Any]:
        return rfq_body(
            [(rice, 10)],
            deadline=MONDAY_0100_WIB.isoformat().replace("+00:00", "Z"),
            delivery={
                "date": delivery.isoformat(),
                "region_code": "35.76.02.1005",
                "address": "Jl. Gajah Mada 100",
            },
        )

    with clock.frozen_at(MONDAY_0100_WIB - dt.timedelta(days=2)):
        early = await client.post(
            "/v1/procurement/rfqs", json=body(MONDAY - dt.timedelta(days=1)), headers=office.headers
        )
        on_time = await client.post(
            "/v1/procurement/rfqs", json=body(MONDAY), headers=office.headers
        )
    problem = assert_problem(early, 422, "procurement.invalid_rfq")
    assert problem["extra"]["deadline_date"] == MONDAY.isoformat()
    assert on_time.status_code == 201, on_time.text


async def test_a_delivery_dated_by_utcs_today_is_already_past_at_0100_wib(
    client: AsyncTestClient[Litestar], world: ConsignmentWorld
) -> None:
    w = world
    order: dict[str, Any] = {
        "lines": [{"product_id": w.rice.id, "quantity": 1}],
        "delivery": {"date": "", "region_code": "35.76.02.1005", "address": "SPPG 1"},
    }
    with clock.frozen_at(MONDAY_0100_WIB):
        order["delivery"]["date"] = (MONDAY - dt.timedelta(days=1)).isoformat()
        past = await client.post("/v1/orders/preview", json=order, headers=w.kitchen.headers)
    problem = assert_problem(past, 422)
    assert problem["extra"]["today"] == MONDAY.isoformat()
