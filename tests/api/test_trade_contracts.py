"""Inter-city trade contracts through the API: allotment, shortfall, call-offs, levies."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.db import create_session_factory, unit_of_work
from marketplace.ledger import LedgerService
from marketplace.orders.domain.placed import PlacedOrder
from marketplace.procurement.contracts.domain.weeks import iso_week, week_start
from marketplace.procurement.contracts.models import TradeContract
from tests.builders import orders, procurement
from tests.builders.catalog import Product, new_eggs_product
from tests.builders.legacy import LegacyKeys
from tests.builders.procurement import create_contract
from tests.placing import place_at_once
from tests.support import Actor, Actors, assert_problem

TODAY = dt.date.today()
TOMORROW = TODAY + dt.timedelta(days=1)
DEPOK = "32.76"
BLITAR = "35.72"


def order_body(product_id: str, quantity: int, region: str) -> dict[str, Any]:
    return orders.order_body(
        [(product_id, quantity)], date=TOMORROW.isoformat(), region_code=region, address="SPPG"
    )


async def place(client: AsyncTestClient[Litestar], buyer: Actor, body: dict[str, Any]) -> Any:
    return await orders.place_order(client, buyer, body)


def contract_body(
    product_id: str, counterparty: Actor, suppliers: list[tuple[Actor, int]], **extra: Any
) -> dict[str, Any]:
    window: dict[str, Any] = {
        "start_date": TODAY - dt.timedelta(days=1),
        "end_date": TODAY + dt.timedelta(days=60),
    }
    return procurement.contract_body(product_id, counterparty, suppliers, **{**window, **extra})


async def contract_count(factory: async_sessionmaker[AsyncSession], trade_center: Actor) -> int:
    async with factory() as session:
        stmt = select(func.count()).where(
            TradeContract.trade_center_organization_id == trade_center.organization_id
        )
        return int((await session.execute(stmt)).scalar_one())


@dataclass(frozen=True)
class TradeWorld(LegacyKeys):
    """A Blitar trade center, three Blitar cooperatives supplying eggs, and Depok's office."""

    admin: Actor
    eggs: Product
    tc: Actor
    depok: Actor
    coops: list[Actor]


@pytest.fixture
async def trade_world(client: AsyncTestClient[Litestar], actors: Actors) -> TradeWorld:
    admin = await actors.platform_admin()
    eggs = await new_eggs_product(client, admin)
    trade_center = await actors.org("trade_center", "admin", region_code=f"{BLITAR}.01.1001")
    depok = await actors.org("government", "admin", region_code=f"{DEPOK}.01.1001")
    coops = [
        await actors.org("cooperative", "admin", region_code=f"{BLITAR}.0{i + 1}.1002")
        for i in range(3)
    ]
    return TradeWorld(admin=admin, eggs=eggs, tc=trade_center, depok=depok, coops=coops)


async def test_allotted_three_ways_shortfall_calloffs_shipments_and_levy(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    trade_world: TradeWorld,
) -> None:
    w = trade_world
    a, b, c = w.coops
    contract = await create_contract(
        client, w.tc, contract_body(w.eggs.id, w.depok, [(a, 70), (b, 50), (c, 30)])
    )
    # 100*70/150 = 46.67, 100*50/150 = 33.33, 100*30/150 = 20: the spare unit to the largest rest.
    assert [x["weekly_quantity"] for x in contract["allotments"]] == [47, 33, 20]
    assert (contract["allotted"], contract["counterparty_city_code"]) == (100, DEPOK)
    url = f"/v1/procurement/trade-contracts/{contract['id']}"
    b_allotment = contract["allotments"][1]["id"]

    # b can ship only 20 of its 33: 13 go down the list — c takes 10, then a (wrapping) 3.
    short = await client.post(
        f"{url}/allotments/{b_allotment}/shortfall", json={"quantity": 13}, headers=b.headers
    )
    assert short.status_code == 200, short.text
    after = short.json()
    assert after["unplaced"] == 0
    assert [x["weekly_quantity"] for x in after["contract"]["allotments"]] == [50, 20, 30]
    assert [x["capacity"] for x in after["contract"]["allotments"]] == [70, 20, 30]
    assert after["contract"]["allotted"] == 100

    # A Depok kitchen's order is called off the contract; a Mojokerto kitchen's is not.
    depok_kitchen = await actors.org("kitchen", "buyer", region_code=f"{DEPOK}.02.1003")
    placed = await place(client, depok_kitchen, order_body(w.eggs.id, 60, f"{DEPOK}.02.1003"))
    assert placed.status_code == 201, placed.text
    legs = placed.json()["legs"]
    assert {leg["kind"] for leg in legs} == {"trade_contract"}
    assert {leg["contract_id"] for leg in legs} == {contract["id"]}
    assert sum(leg["quantity"] for leg in legs) == 60
    for leg in legs:
        assert leg["levy_amount"] == leg["subtotal"] * 150 // 10_000
    assert placed.json()["levy_total"] == sum(leg["levy_amount"] for leg in legs)
    mojokerto = await actors.org("kitchen", "buyer", region_code="35.76.02.1005")
    refused = await place(client, mojokerto, order_body(w.eggs.id, 5, "35.76.02.1005"))
    assert_problem(refused, 422, "orders.insufficient_supply")
    preview = await client.post(
        "/v1/orders/preview",
        json=order_body(w.eggs.id, 5, "35.76.02.1005"),
        headers=mojokerto.headers,
    )
    assert preview.json()["legs"] == []

    week = (await client.get(url, headers=w.tc.headers)).json()["weeks"]
    this = next(x for x in week if x["week_start"] == week_start(TOMORROW).isoformat())
    assert (this["iso_week"], this["volume"], this["allotted"]) == (iso_week(TOMORROW), 100, 100)
    assert (this["called_off"], this["shipped"], this["levy"]) == (60, 0, 0)

    # Shipping a call-off leg records it against its allotment and posts its levy.
    supplier_of = {str(x.organization_id): x for x in w.coops}
    for leg in legs:
        supplier = supplier_of[leg["supplier_organization_id"]]
        shipped = await client.post(f"/v1/legs/{leg['id']}/ship", headers=supplier.headers)
        assert shipped.status_code == 200, shipped.text
    # A direct shipment by c, on the same week, with an Idempotency-Key.
    c_allotment = contract["allotments"][2]["id"]
    shipment_body = {
        "allotment_id": c_allotment,
        "quantity": 5,
        "shipped_on": TOMORROW.isoformat(),
        "reference": "SJ-001",
    }
    headers = {**c.headers, "Idempotency-Key": "sj-001"}
    first = await client.post(f"{url}/shipments", json=shipment_body, headers=headers)
    assert first.status_code == 201, first.text
    replay = await client.post(f"{url}/shipments", json=shipment_body, headers=headers)
    assert replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    assert first.json()["levy_amount"] == 5 * 55_000 * 150 // 10_000
    # More than the allotment has left this week is refused, nothing recorded.
    too_much = {**shipment_body, "quantity": 31, "reference": "SJ-002"}
    over = await client.post(
        f"{url}/shipments", json=too_much, headers={**c.headers, "Idempotency-Key": "sj-002"}
    )
    assert_problem(over, 409, "procurement.volume_exhausted")

    weeks = (await client.get(url, headers=w.depok.headers)).json()["weeks"]
    this = next(x for x in weeks if x["week_start"] == week_start(TOMORROW).isoformat())
    levies = sum(leg["levy_amount"] for leg in legs) + first.json()["levy_amount"]
    assert (this["called_off"], this["shipped"], this["levy"]) == (65, 65, levies)
    assert this["shipped_amount"] == 65 * 55_000

    # Every levy is one balanced ledger transaction, owed to the trade center.
    references = [f"levy:{leg['id']}" for leg in legs] + [f"levy:{first.json()['id']}"]
    async with unit_of_work(session_factory) as uow:
        ledger = LedgerService(uow)
        total = 0
        for reference in references:
            [tx] = await ledger.transactions(reference=reference)
            assert sum(entry.amount for entry in tx.entries) == 0
            credit = [e for e in tx.entries if e.amount < 0]
            assert [e.account.organization_id for e in credit] == [w.tc.organization_id]
            total += -credit[0].amount
        assert total == levies


async def test_concurrent_orders_never_exceed_weekly_volume(
    client: AsyncTestClient[Litestar], actors: Actors, trade_world: TradeWorld
) -> None:
    w = trade_world
    a, b, _ = w.coops
    contract = await create_contract(
        client,
        w.tc,
        contract_body(w.eggs.id, w.depok, [(a, 20), (b, 10)], weekly_volume=30),
    )
    buyers = [
        await actors.org("kitchen", "buyer", region_code=f"{DEPOK}.03.10{i:02d}") for i in range(10)
    ]
    responses = await asyncio.gather(
        *(
            place(client, buyers[i % 10], order_body(w.eggs.id, 2, f"{DEPOK}.03.1000"))
            for i in range(30)
        )
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 422}, statuses
    won = [r.json() for r in responses if r.status_code == 201]
    assert len(won) == 15, statuses
    called = sum(leg["quantity"] for order in won for leg in order["legs"])
    assert called == 30
    view = (
        await client.get(f"/v1/procurement/trade-contracts/{contract['id']}", headers=w.tc.headers)
    ).json()
    this = next(x for x in view["weeks"] if x["week_start"] == week_start(TOMORROW).isoformat())
    assert this["called_off"] == 30
    # A cancelled order gives its volume back.
    buyer_of = {str(buyer.organization_id): buyer for buyer in buyers}
    owner = buyer_of[won[0]["buyer_organization_id"]]
    cancel = await client.post(f"/v1/orders/{won[0]['id']}/cancel", headers=owner.headers)
    assert cancel.status_code == 200, cancel.text
    view = (
        await client.get(f"/v1/procurement/trade-contracts/{contract['id']}", headers=w.tc.headers)
    ).json()
    this = next(x for x in view["weeks"] if x["week_start"] == week_start(TOMORROW).isoformat())
    assert this["called_off"] == 28


async def test_bad_contracts_are_refused_and_store_nothing(
    client: AsyncTestClient[Litestar],
    session_factory: async_sessionmaker[AsyncSession],
    trade_world: TradeWorld,
) -> None:
    w = trade_world
    a, b, c = w.coops
    post = "/v1/procurement/trade-contracts"
    eggs = w.eggs.id
    zero = await client.post(
        post, json=contract_body(eggs, w.depok, [(a, 70), (b, 0)]), headers=w.tc.headers
    )
    assert_problem(zero, 422, "procurement.invalid_capacity")
    short = await client.post(
        post, json=contract_body(eggs, w.depok, [(a, 10), (b, 10)]), headers=w.tc.headers
    )
    assert_problem(short, 422, "procurement.insufficient_capacity")
    backwards = contract_body(
        eggs, w.depok, [(a, 100)], start_date=TOMORROW.isoformat(), end_date=TODAY.isoformat()
    )
    assert_problem(
        await client.post(post, json=backwards, headers=w.tc.headers),
        422,
        "procurement.invalid_period",
    )
    not_coop = contract_body(eggs, w.depok, [(w.depok, 100)])
    assert_problem(
        await client.post(post, json=not_coop, headers=w.tc.headers),
        422,
        "procurement.invalid_supplier",
    )
    unknown = {**contract_body(eggs, w.depok, [(a, 100)]), "surprise": 1}
    assert_problem(await client.post(post, json=unknown, headers=w.tc.headers), 400)
    assert_problem(
        await client.post(post, json=contract_body(eggs, w.depok, [(a, 100)]), headers=c.headers),
        403,
    )
    assert_problem(await client.post(post, json=contract_body(eggs, w.depok, [(a, 100)])), 401)
    assert await contract_count(session_factory, w.tc) == 0


async def test_contract_access_and_shortfall_rules(
    client: AsyncTestClient[Litestar], actors: Actors, trade_world: TradeWorld
) -> None:
    w = trade_world
    a, b, c = w.coops
    contract = await create_contract(
        client, w.tc, contract_body(w.eggs.id, w.depok, [(a, 60), (b, 40)])
    )
    url = f"/v1/procurement/trade-contracts/{contract['id']}"
    allotment = contract["allotments"][0]["id"]
    stranger = await actors.org("trade_center", "admin", region_code="35.78.01.1001")
    assert_problem(await client.get(url, headers=stranger.headers), 404)
    assert_problem(await client.get(url, headers=c.headers), 404)  # not a supplier of it
    assert (await client.get(url, headers=b.headers)).status_code == 200
    assert_problem(
        await client.post(
            f"{url}/allotments/{allotment}/shortfall", json={"quantity": 5}, headers=b.headers
        ),
        404,  # b may not declare a's shortfall
    )
    assert_problem(
        await client.post(
            f"{url}/allotments/{allotment}/shortfall",
            json={"quantity": 5},
            headers=stranger.headers,
        ),
        404,
    )
    too_big = await client.post(
        f"{url}/allotments/{allotment}/shortfall", json={"quantity": 61}, headers=a.headers
    )
    assert_problem(too_big, 422, "procurement.invalid_shortfall")
    assert_problem(
        await client.post(
            f"{url}/shipments",
            json={"allotment_id": allotment, "quantity": 1},
            headers={**stranger.headers, "Idempotency-Key": "x"},
        ),
        404,
    )
    assert_problem(
        await client.get(f"/v1/procurement/trade-contracts/{uuid.uuid4()}", headers=w.tc.headers),
        404,
    )
    # All of b's capacity is used, so a's shortfall cannot be placed: reported, not lost.
    placed = await client.post(
        f"{url}/allotments/{allotment}/shortfall", json={"quantity": 10}, headers=w.tc.headers
    )
    assert placed.status_code == 200, placed.text
    assert placed.json()["unplaced"] == 10
    assert placed.json()["contract"]["allotted"] == 90
    unchanged = (await client.get(url, headers=w.tc.headers)).json()
    assert unchanged["unplaced"] == 10
    # Lists: the parties see it, a stranger doesn't.
    listing = "/v1/procurement/trade-contracts"
    for party in (w.tc, w.depok, a, b):
        ids = [x["id"] for x in (await client.get(listing, headers=party.headers)).json()["items"]]
        assert contract["id"] in ids
    for outsider in (stranger, c):
        ids = [
            x["id"] for x in (await client.get(listing, headers=outsider.headers)).json()["items"]
        ]
        assert contract["id"] not in ids


async def test_calloffs_racing_beyond_the_weeks_volume_are_refused_for_the_real_reason(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    trade_world: TradeWorld,
) -> None:
    """60 orders of 3 race (each on its own connection) for 30 units a week over three
    allotments: every loser is told the week's volume is short — `insufficient_supply`
    with its figures — the first time, never a `stock_changed` that a retry would turn
    into that answer."""
    w = trade_world
    contract = await create_contract(
        client,
        w.tc,
        contract_body(w.eggs.id, w.depok, [(coop, 10) for coop in w.coops], weekly_volume=30),
    )
    buyers = [
        await actors.org("kitchen", "buyer", region_code=f"{DEPOK}.03.10{i:02d}") for i in range(20)
    ]
    results = await place_at_once(
        session_factory,
        [(buyers[i % 20], order_body(w.eggs.id, 3, f"{DEPOK}.03.1000")) for i in range(60)],
    )
    placed = [r for r in results if isinstance(r, PlacedOrder)]
    refused = [r for r in results if not isinstance(r, PlacedOrder)]
    assert {r.code for r in refused} == {"orders.insufficient_supply"}, refused
    assert len(placed) == 10
    for refusal in refused:
        [short] = refusal.extra["shortfalls"]
        assert (short["line_no"], short["requested"]) == (1, 3)
        assert 1 <= short["unfilled"] <= 3
    assert sum(leg.quantity for order in placed for leg in order.legs) == 30
    view = (
        await client.get(f"/v1/procurement/trade-contracts/{contract['id']}", headers=w.tc.headers)
    ).json()
    this = next(x for x in view["weeks"] if x["week_start"] == week_start(TOMORROW).isoformat())
    assert this["called_off"] == 30


async def test_a_calloff_cannot_lose_the_volume_it_read_to_a_racing_order(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    trade_world: TradeWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each time the placement has read the week's volume, a racing order tries to call
    off all that is left on the first allotment, without waiting for a lock. Before the
    fix it won every time (the read took no lock): the placement's call-offs were refused
    three times and it answered 409 `listings.stock_changed`. The allotments are now
    locked before their volume is read, so the racer gets nothing meanwhile and the
    placement is served from what it read."""
    from marketplace.procurement.contracts.repository import ContractRepository

    w = trade_world
    await create_contract(
        client,
        w.tc,
        contract_body(w.eggs.id, w.depok, [(coop, 10) for coop in w.coops], weekly_volume=30),
    )
    read, raced = ContractRepository.sources, []

    async def read_then_race(self: ContractRepository, *args: Any) -> Any:
        rows = await read(self, *args)
        first = min((r for r in rows if r.remaining > 0), key=lambda r: r.allotment_id)
        bind = self.session.bind
        assert isinstance(bind, AsyncEngine)
        async with unit_of_work(create_session_factory(bind)) as uow:
            try:
                await uow.session.execute(
                    text("SELECT id FROM trade_allotments WHERE id = :a FOR UPDATE NOWAIT"),
                    {"a": first.allotment_id},
                )
            except DBAPIError:
                raced.append(0)  # the placement holds it: the racer waits its turn
                return rows
            week = week_start(TOMORROW)
            taken = await ContractRepository(uow.session).call_off(
                [(first.allotment_id, week, first.remaining)]
            )
            await uow.commit()
            raced.append(first.remaining if taken else 0)
        return rows

    monkeypatch.setattr(ContractRepository, "sources", read_then_race)
    kitchen = await actors.org("kitchen", "buyer", region_code=f"{DEPOK}.03.1001")
    response = await place(client, kitchen, order_body(w.eggs.id, 3, f"{DEPOK}.03.1001"))
    assert response.status_code == 201, (response.status_code, response.text, raced)
    assert raced == [0]
    assert sum(leg["quantity"] for leg in response.json()["legs"]) == 3


async def test_placing_and_cancelling_mixed_stock_and_calloff_orders_at_once(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    trade_world: TradeWorld,
) -> None:
    """Orders partly from a Depok cooperative's stock and partly called off the contract,
    placed while others like them are cancelled, all at once: placement (which locks the
    allotments before reading their volume) and cancellation both take allotments before
    listings, none fails, and stock and volume add up afterwards."""
    from marketplace.orders.service import OrderService
    from tests.catalog import create_listing
    from tests.placing import buyer_principal

    w = trade_world
    contract = await create_contract(
        client,
        w.tc,
        contract_body(w.eggs.id, w.depok, [(w.coops[0], 40)], weekly_volume=40),
    )
    depok_coop = await actors.org("cooperative", "seller", region_code=f"{DEPOK}.03.1000")
    listing = await create_listing(client, depok_coop, w.eggs.id, tiers=[(1, 50_000)], stock=12)
    buyers = [
        await actors.org("kitchen", "buyer", region_code=f"{DEPOK}.03.10{i:02d}") for i in range(8)
    ]
    body = order_body(w.eggs.id, 8, f"{DEPOK}.03.1000")
    first = await place_at_once(session_factory, [(buyer, body) for buyer in buyers[:4]])
    assert all(isinstance(order, PlacedOrder) for order in first), first
    kinds = {leg.kind for order in first if isinstance(order, PlacedOrder) for leg in order.legs}
    assert kinds == {"stock", "trade_contract"}

    async def cancel(buyer: Actor, order: PlacedOrder) -> None:
        async with unit_of_work(session_factory) as uow:
            await OrderService(uow).cancel(buyer_principal(buyer), order.order.id)
            await uow.commit()

    outcomes = await asyncio.gather(
        *(cancel(buyer, order) for buyer, order in zip(buyers[:4], first, strict=True)),  # type: ignore[arg-type]
        place_at_once(session_factory, [(buyer, body) for buyer in buyers[4:]] * 2),
    )
    second = outcomes[-1]
    assert isinstance(second, list)
    placed = [o for o in second if isinstance(o, PlacedOrder)]
    assert {r.code for r in second if not isinstance(r, PlacedOrder)} <= {
        "orders.insufficient_supply"
    }, second
    legs = [leg for order in placed for leg in order.legs]
    from_stock = sum(leg.quantity for leg in legs if leg.kind == "stock")
    called_off = sum(leg.quantity for leg in legs if leg.kind == "trade_contract")
    assert from_stock + called_off == 8 * len(placed)
    state = (await client.get(f"/v1/listings/{listing['id']}", headers=depok_coop.headers)).json()
    assert (state["on_hand"], state["reserved"]) == (12, from_stock)
    view = (
        await client.get(f"/v1/procurement/trade-contracts/{contract['id']}", headers=w.tc.headers)
    ).json()
    this = next(x for x in view["weeks"] if x["week_start"] == week_start(TOMORROW).isoformat())
    assert this["called_off"] == called_off
