"""Bulog purchase lots through the API: pooling at placement, closing, receiving, release."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.procurement.lots.domain.terms import choose_branch, cutoff_after, lot_terms
from marketplace.procurement.lots.tasks import close_due_lots
from tests.builders import orders
from tests.builders.catalog import Listing, Product, new_listing, new_product
from tests.builders.legacy import LegacyKeys
from tests.support import Actor, Actors, assert_problem

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
# A city no other test uses, and a district per test: each test's cooperative shares the
# longest region prefix with its own Bulog branch, so branch resolution is predictable.
CITY = "36.73"
DISTRICTS = itertools.count(10)


def order_body(product_id: str, quantity: int) -> dict[str, Any]:
    return orders.order_body(
        [(product_id, quantity)], date=TOMORROW, region_code=f"{CITY}.01.1002", address="SPPG 1"
    )


async def place(client: AsyncTestClient[Litestar], buyer: Actor, body: dict[str, Any]) -> Any:
    return await orders.place_order(client, buyer, body)


async def get_json(client: AsyncTestClient[Litestar], who: Actor, url: str) -> Any:
    response = await client.get(url, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


@dataclass(frozen=True)
class LotWorld(LegacyKeys):
    """A Bulog branch, a cooperative reselling its rice by the lot, and three kitchens."""

    admin: Actor
    rice: Product
    bulog: Actor
    coop: Actor
    listing: Listing
    kitchens: list[Actor]


@pytest.fixture
async def lot_world(client: AsyncTestClient[Litestar], actors: Actors) -> LotWorld:
    admin = await actors.platform_admin()
    rice = await new_product(client, admin, price_caps=[])  # 5 kg sacks: 1 t = 200
    district = f"{CITY}.{next(DISTRICTS)}"
    bulog = await actors.org("bulog", "seller", region_code=f"{district}.1001")
    coop = await actors.org("cooperative", "admin", region_code=f"{district}.1002")
    listing = await new_listing(
        client, coop, rice, tiers=[(1, 62_000)], stock=0, supply_mode="bulog_lot"
    )
    kitchens = [
        await actors.org("kitchen", "buyer", region_code=f"{district}.100{i + 3}") for i in range(3)
    ]
    return LotWorld(
        admin=admin, rice=rice, bulog=bulog, coop=coop, listing=listing, kitchens=kitchens
    )


async def open_lot_of(client: AsyncTestClient[Litestar], coop: Actor, product_id: str) -> Any:
    page = await get_json(client, coop, "/v1/procurement/bulog-lots?status=open")
    lots = [lot for lot in page["items"] if lot["product_id"] == product_id]
    assert len(lots) == 1, lots
    return await get_json(client, coop, f"/v1/procurement/bulog-lots/{lots[0]['id']}")


async def test_kitchens_pooled_closed_received_short_released_oldest_first(
    client: AsyncTestClient[Litestar],
    session_factory: async_sessionmaker[AsyncSession],
    lot_world: LotWorld,
) -> None:
    w = lot_world
    coop, bulog, rice = w.coop, w.bulog, w.rice
    orders = []
    for kitchen, quantity in zip(w.kitchens, [150, 100, 80], strict=True):
        response = await place(client, kitchen, order_body(rice.id, quantity))
        assert response.status_code == 201, response.text
        orders.append(response.json())
    for order in orders:
        [leg] = order["legs"]
        assert leg["kind"] == "bulog_lot"
        assert leg["owner_organization_id"] == str(bulog.organization_id)
        assert leg["supplier_organization_id"] == str(coop.organization_id)

    lot = await open_lot_of(client, coop, rice.id)
    assert (lot["total_demand"], lot["lot_unit"], lot["lot_size"]) == (330, 200, 400)
    assert lot["bulog_organization_id"] == str(bulog.organization_id)
    assert lot["unit_price"] == 62_000
    assert [line["order_id"] for line in lot["demand_lines"]] == [o["id"] for o in orders]
    lot_url = f"/v1/procurement/bulog-lots/{lot['id']}"

    # Waiting legs cannot ship; an open lot cannot be received.
    first_leg = orders[0]["legs"][0]["id"]
    waiting = await client.post(f"/v1/legs/{first_leg}/ship", headers=coop.headers)
    assert_problem(waiting, 409, "orders.leg_waits_for_lot")
    early = await client.post(
        f"{lot_url}/receive", json={"received_quantity": 10}, headers=coop.headers
    )
    assert_problem(early, 409, "procurement.lot_not_awaiting_delivery")

    # The cron closes it at its cut-off: whole tonnes, the surplus kept by the cooperative.
    cutoff = dt.datetime.fromisoformat(lot["cutoff_at"])
    ctx = {"session_factory": session_factory, "jobs": None}
    # Other tests' lots may fall due in either call, so the counts say little: the lot's
    # own state is what must change at its cut-off and not a second before.
    await close_due_lots(ctx, now=cutoff - dt.timedelta(seconds=1))
    assert (await get_json(client, coop, lot_url))["status"] == "open"
    assert await close_due_lots(ctx, now=cutoff) >= 1
    closed = await get_json(client, coop, lot_url)
    assert closed["status"] == "closed"
    assert closed["close_reason"] == "cutoff"
    assert (closed["order_quantity"], closed["surplus"]) == (400, 70)
    po = closed["purchase_order"]
    assert (po["quantity"], po["unit_price"], po["total"]) == (400, 62_000, 400 * 62_000)
    assert po["bulog_organization_id"] == str(bulog.organization_id)
    # Bulog sees the lot it supplies.
    assert (await get_json(client, bulog, lot_url))["id"] == lot["id"]

    # Closing twice, and receiving more than ordered, are refused and change nothing.
    again = await client.post(f"{lot_url}/submit", headers=coop.headers)
    assert_problem(again, 409, "procurement.lot_not_open")
    too_much = await client.post(
        f"{lot_url}/receive", json={"received_quantity": 401}, headers=coop.headers
    )
    assert_problem(too_much, 422, "procurement.receipt_exceeds_order")
    assert (await get_json(client, coop, lot_url)) == closed
    listing_url = f"/v1/listings/{w.listing.id}"
    assert (await get_json(client, coop, listing_url))["on_hand"] == 0

    # Bulog delivers 300 of 400: the oldest orders are served first and in full.
    received = await client.post(
        f"{lot_url}/receive",
        json={"received_quantity": 300, "note": "truk 1 dari 2"},
        headers=coop.headers,
    )
    assert received.status_code == 200, received.text
    body = received.json()
    assert (body["released_total"], body["unfilled_total"], body["surplus"]) == (300, 30, 0)
    assert body["unfilled"] == [
        {
            "leg_id": orders[2]["legs"][0]["id"],
            "order_id": orders[2]["id"],
            "demanded": 80,
            "released": 50,
            "unfilled": 30,
        }
    ]
    assert [line["released_quantity"] for line in body["lot"]["demand_lines"]] == [150, 100, 50]
    assert body["lot"]["status"] == "received"
    stock = await get_json(client, coop, listing_url)
    assert (stock["on_hand"], stock["reserved"]) == (300, 300)
    twice = await client.post(
        f"{lot_url}/receive", json={"received_quantity": 100}, headers=coop.headers
    )
    assert_problem(twice, 409, "procurement.lot_not_awaiting_delivery")

    # Released legs ship from the received stock — exactly what each was released.
    shipped = await client.post(f"/v1/legs/{first_leg}/ship", headers=coop.headers)
    assert shipped.status_code == 200, shipped.text
    short_leg = orders[2]["legs"][0]["id"]
    assert (
        await client.post(f"/v1/legs/{short_leg}/ship", headers=coop.headers)
    ).status_code == 200
    stock = await get_json(client, coop, listing_url)
    assert (stock["on_hand"], stock["reserved"]) == (100, 100)
    again_shipped = await client.post(f"/v1/legs/{first_leg}/ship", headers=coop.headers)
    assert again_shipped.status_code == 409
    assert (await get_json(client, coop, listing_url))["on_hand"] == 100
    # The short leg's buyer records what arrived and is credited for the rest; it can't
    # receive more than was released and shipped.
    over = await client.post(
        f"/v1/legs/{short_leg}/deliver",
        json={"received_quantity": 51},
        headers=w.kitchens[2].headers,
    )
    assert over.status_code == 422, over.text
    assert over.json()["extra"]["shipped"] == 50
    delivered = await client.post(
        f"/v1/legs/{short_leg}/deliver",
        json={"received_quantity": 50},
        headers=w.kitchens[2].headers,
    )
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["credited_amount"] == 30 * 62_000
    assert delivered.json()["shipped_quantity"] == 50


async def test_submit_early_surplus_becomes_own_stock(
    client: AsyncTestClient[Litestar], lot_world: LotWorld
) -> None:
    w = lot_world
    coop, rice, kitchen = w.coop, w.rice, w.kitchens[0]
    assert (await place(client, kitchen, order_body(rice.id, 10))).status_code == 201
    lot = await open_lot_of(client, coop, rice.id)
    lot_url = f"/v1/procurement/bulog-lots/{lot['id']}"
    # Only the cooperative closes its lot; others don't even see it.
    assert_problem(await client.post(f"{lot_url}/submit", headers=w.bulog.headers), 403)
    assert_problem(await client.post(f"{lot_url}/submit", headers=kitchen.headers), 404)
    submitted = await client.post(f"{lot_url}/submit", headers=coop.headers)
    assert submitted.status_code == 200, submitted.text
    assert (submitted.json()["order_quantity"], submitted.json()["surplus"]) == (200, 190)
    received = await client.post(
        f"{lot_url}/receive", json={"received_quantity": 200}, headers=coop.headers
    )
    assert received.status_code == 200, received.text
    body = received.json()
    assert (body["released_total"], body["surplus"], body["unfilled"]) == (10, 190, [])
    own = await get_json(client, coop, f"/v1/listings/{body['surplus_listing_id']}")
    assert (own["supply_mode"], own["on_hand"], own["reserved"]) == ("stock", 190, 0)
    # The next order is filled from that stock, not pooled into a new lot.
    again = await place(client, w.kitchens[1], order_body(rice.id, 20))
    assert again.status_code == 201, again.text
    assert [leg["kind"] for leg in again.json()["legs"]] == ["stock"]


async def test_cancelled_order_leaves_the_open_lot(
    client: AsyncTestClient[Litestar], lot_world: LotWorld
) -> None:
    w = lot_world
    kitchen = w.kitchens[0]
    order = (await place(client, kitchen, order_body(w.rice.id, 40))).json()
    assert (await place(client, w.kitchens[1], order_body(w.rice.id, 5))).status_code == 201
    cancelled = await client.post(f"/v1/orders/{order['id']}/cancel", headers=kitchen.headers)
    assert cancelled.status_code == 200, cancelled.text
    lot = await open_lot_of(client, w.coop, w.rice.id)
    assert lot["total_demand"] == 5
    withdrawn = [line for line in lot["demand_lines"] if line["withdrawn_at"]]
    assert [line["order_id"] for line in withdrawn] == [order["id"]]


async def test_concurrent_orders_pool_into_one_lot(
    client: AsyncTestClient[Litestar], actors: Actors, lot_world: LotWorld
) -> None:
    w = lot_world
    buyers = [
        await actors.org("kitchen", "buyer", region_code=f"{CITY}.01.2{i:03d}") for i in range(8)
    ]
    responses = await asyncio.gather(
        *(place(client, buyers[i % 8], order_body(w.rice.id, 3)) for i in range(24))
    )
    assert [r.status_code for r in responses] == [201] * 24, [r.text for r in responses]
    lot = await open_lot_of(client, w.coop, w.rice.id)
    assert lot["total_demand"] == 72
    assert len(lot["demand_lines"]) == 24


async def test_lot_access(
    client: AsyncTestClient[Litestar], actors: Actors, lot_world: LotWorld
) -> None:
    w = lot_world
    assert (await place(client, w.kitchens[0], order_body(w.rice.id, 4))).status_code == 201
    lot = await open_lot_of(client, w.coop, w.rice.id)
    url = f"/v1/procurement/bulog-lots/{lot['id']}"
    stranger = await actors.org("cooperative", "admin", region_code=f"{CITY}.03.1001")
    assert_problem(await client.get(url, headers=stranger.headers), 404)
    assert_problem(await client.post(f"{url}/submit", headers=stranger.headers), 404)
    assert_problem(
        await client.post(
            f"{url}/receive", json={"received_quantity": 1}, headers=stranger.headers
        ),
        404,
    )
    assert (await get_json(client, stranger, "/v1/procurement/bulog-lots"))["items"] == []
    assert_problem(
        await client.get(f"/v1/procurement/bulog-lots/{uuid.uuid4()}", headers=w.coop.headers),
        404,
    )
    assert_problem(await client.get(url), 401)
    bad = await client.post(
        f"{url}/receive", json={"received_quantity": -1}, headers=w.coop.headers
    )
    assert_problem(bad, 400)
    unknown = await client.post(
        f"{url}/receive", json={"received_quantity": 1, "x": 1}, headers=w.coop.headers
    )
    assert_problem(unknown, 400)
    assert (await get_json(client, w.coop, url))["status"] == "open"
    platform = await get_json(client, w.admin, url)
    assert platform["id"] == lot["id"]


def test_branch_terms_and_cutoff_rules() -> None:
    a, b, c = (uuid.UUID(int=n) for n in (3, 2, 1))
    branches = [(a, "35.76.01.1001"), (b, "35.78.01.1001"), (c, "31.71.01.1001")]
    assert choose_branch("35.76.02.1005", branches) == a  # same city beats same province
    assert choose_branch("35.72.01.1001", branches) == b  # same province, lowest id
    assert choose_branch("12.01.01.1001", branches) == c  # else any, lowest id
    assert choose_branch("35.76.02.1005", []) is None
    assert lot_terms(5_000, "GRM") == (200, 400)
    assert lot_terms(3_000, "GRM") == (334, 668)
    assert lot_terms(1_000, "MLT") == (12, 24)
    assert lot_terms(30, "H87") == (1, 2)
    now = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)  # 10:00 in Jakarta
    assert cutoff_after(now, "Asia/Jakarta") == dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)
    late = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)  # 13:00 in Jakarta
    assert cutoff_after(late, "Asia/Jakarta") == dt.datetime(2026, 11, 24, 5, 0, tzinfo=dt.UTC)


async def test_concurrent_receipts_of_one_lot_move_stock_once(
    client: AsyncTestClient[Litestar], lot_world: LotWorld
) -> None:
    w = lot_world
    coop = w.coop
    assert (await place(client, w.kitchens[0], order_body(w.rice.id, 30))).status_code == 201
    lot = await open_lot_of(client, coop, w.rice.id)
    url = f"/v1/procurement/bulog-lots/{lot['id']}"
    assert (await client.post(f"{url}/submit", headers=coop.headers)).status_code == 200
    responses = await asyncio.gather(
        *(
            client.post(f"{url}/receive", json={"received_quantity": 200}, headers=coop.headers)
            for _ in range(6)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409, 409, 409, 409, 409], [r.text for r in responses]
    bulog_listing = await get_json(client, coop, f"/v1/listings/{w.listing.id}")
    assert (bulog_listing["on_hand"], bulog_listing["reserved"]) == (30, 30)
    [body] = [r.json() for r in responses if r.status_code == 200]
    own = await get_json(client, coop, f"/v1/listings/{body['surplus_listing_id']}")
    assert own["on_hand"] == 170


def test_lot_sources_are_bought_from_the_cooperatives_branch() -> None:
    from marketplace.orders.domain.splitting import BulogLotSource
    from marketplace.orders.sources import candidate_sources

    coop, branch, product, listing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # A candidates row (`StockService.candidates`): a Bulog lot listing of the cooperative.
    row = (listing, 1, coop, None, "cooperative", False, "35.76.02.1005", 0, 1, "bulog_lot",
           '[{"min_quantity": 1, "unit_price": 62000}]', True, 0, False, 62_000, False)  # fmt: skip
    unbranched = candidate_sources([row], [product], {}, None)
    assert unbranched.sources == []  # no branch: no lot to pool into
    assert unbranched.unbranched_lots == {product}
    assert unbranched.lot_sellers == {coop}
    [source] = candidate_sources([row], [product], {coop: branch}, None).sources
    assert isinstance(source, BulogLotSource)
    assert (source.bulog_org_id, source.seller_org_id) == (branch, coop)


async def test_concurrent_receipts_of_a_surplus_only_lot_create_one_listing(
    client: AsyncTestClient[Litestar], lot_world: LotWorld
) -> None:
    """Every order left the lot after it closed: all of it is surplus, and concurrent
    receipts must not race to create the cooperative's own listing."""
    w = lot_world
    coop, kitchen = w.coop, w.kitchens[0]
    order = (await place(client, kitchen, order_body(w.rice.id, 30))).json()
    lot = await open_lot_of(client, coop, w.rice.id)
    url = f"/v1/procurement/bulog-lots/{lot['id']}"
    assert (await client.post(f"{url}/submit", headers=coop.headers)).status_code == 200
    cancel = await client.post(f"/v1/orders/{order['id']}/cancel", headers=kitchen.headers)
    assert cancel.status_code == 200, cancel.text
    responses = await asyncio.gather(
        *(
            client.post(f"{url}/receive", json={"received_quantity": 200}, headers=coop.headers)
            for _ in range(6)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409, 409, 409, 409, 409], [r.text for r in responses]
    [ok] = [r.json() for r in responses if r.status_code == 200]
    assert ok["surplus"] == 200
    own = await get_json(client, coop, f"/v1/listings/{ok['surplus_listing_id']}")
    assert (own["on_hand"], own["reserved"]) == (200, 0)
