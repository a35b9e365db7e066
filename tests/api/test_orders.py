"""Orders through the API: split, reservation, idempotency, races, lifecycle, access."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.db import create_session_factory, unit_of_work
from marketplace.settings import Settings
from tests.builders import orders
from tests.builders.catalog import Listing, Product, new_listing, new_oil_product, new_product
from tests.builders.consignment import consigned_oil
from tests.builders.legacy import LegacyKeys
from tests.support import Actor, Actors, assert_problem

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def order_body(lines: list[tuple[Product | str, int]], **extra: Any) -> dict[str, Any]:
    return orders.order_body(lines, date=TOMORROW, address="Jl. Gajah Mada 1", **extra)


async def place(
    client: AsyncTestClient[Litestar], buyer: Actor, body: dict[str, Any], key: str | None = None
) -> Any:
    return await orders.place_order(client, buyer, body, key=key)


async def listing_state(
    client: AsyncTestClient[Litestar], who: Actor, listing_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/listings/{listing_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@dataclass(frozen=True)
class OrdersWorld(LegacyKeys):
    """Rice from a near and a far cooperative, oil from the near one, and a kitchen."""

    admin: Actor
    rice: Product
    oil: Product
    near: Actor
    far: Actor
    kitchen: Actor
    rice_near: Listing
    rice_far: Listing
    oil_near: Listing

    def listing(self, name: str) -> Listing:
        listing: Listing = getattr(self, name)
        return listing


@pytest.fixture
async def world(client: AsyncTestClient[Litestar], actors: Actors) -> OrdersWorld:
    admin = await actors.platform_admin()
    rice = await new_product(client, admin, price_caps=[])
    oil = await new_oil_product(client, admin, price_caps=[])
    near = await actors.org("cooperative", "seller", region_code="35.76.02.1005")
    far = await actors.org("cooperative", "seller", region_code="35.76.03.1001")
    kitchen = await actors.org("kitchen", "buyer", region_code="35.76.02.1005")
    return OrdersWorld(
        admin=admin,
        rice=rice,
        oil=oil,
        near=near,
        far=far,
        kitchen=kitchen,
        rice_near=await new_listing(client, near, rice, tiers=[(1, 66_000)], stock=10),
        rice_far=await new_listing(client, far, rice, tiers=[(1, 64_000)], stock=100),
        oil_near=await new_listing(client, near, oil, tiers=[(1, 15_500), (12, 15_000)], stock=48),
    )


async def test_place_splits_nearest_first_reserves_and_prices_vat(
    client: AsyncTestClient[Litestar], world: OrdersWorld
) -> None:
    kitchen = world.kitchen
    response = await place(client, kitchen, order_body([(world.rice.id, 25), (world.oil.id, 24)]))
    assert response.status_code == 201, response.text
    order = response.json()
    legs = order["legs"]
    rice_legs = [leg for leg in legs if leg["product_id"] == world.rice.id]
    # Nearest first (same village), then the rest from further away.
    assert [(leg["listing_id"], leg["quantity"]) for leg in rice_legs] == [
        (world.rice_near.id, 10),
        (world.rice_far.id, 15),
    ]
    oil_leg = next(leg for leg in legs if leg["product_id"] == world.oil.id)
    assert oil_leg["unit_price"] == 15_000  # the 12+ tier
    assert oil_leg["vat_amount"] == 24 * 15_000 * 11 // 100  # taxable: 11% effective
    assert all(leg["vat_amount"] == 0 for leg in rice_legs)  # rice is exempt
    assert order["subtotal"] == 10 * 66_000 + 15 * 64_000 + 24 * 15_000
    assert order["total"] == order["subtotal"] + order["vat_total"]
    assert order["status"] == "placed"
    assert {leg["status"] for leg in legs} == {"reserved"}
    near = await listing_state(client, kitchen, world.rice_near.id)
    assert (near["on_hand"], near["reserved"]) == (10, 10)


async def test_preview_reserves_nothing(
    client: AsyncTestClient[Litestar], world: OrdersWorld
) -> None:
    kitchen = world.kitchen
    response = await client.post(
        "/v1/orders/preview", json=order_body([(world.rice.id, 30)]), headers=kitchen.headers
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["complete"] is True
    assert sum(leg["quantity"] for leg in preview["legs"]) == 30
    assert (await listing_state(client, kitchen, world.rice_near.id))["reserved"] == 0
    short = await client.post(
        "/v1/orders/preview",
        json=order_body([(world.rice.id, 1000)]),
        headers=kitchen.headers,
    )
    assert short.json()["complete"] is False
    assert short.json()["shortfalls"][0]["unfilled"] == 1000 - 110


async def test_insufficient_supply_names_the_line_and_reserves_nothing(
    client: AsyncTestClient[Litestar], world: OrdersWorld
) -> None:
    kitchen = world.kitchen
    response = await place(client, kitchen, order_body([(world.oil.id, 10), (world.rice.id, 500)]))
    body = assert_problem(response, 422, "orders.insufficient_supply")
    assert body["extra"]["shortfalls"] == [
        {"line_no": 2, "product_id": world.rice.id, "requested": 500, "unfilled": 390}
    ]
    for key in ("rice_near", "rice_far", "oil_near"):
        assert (await listing_state(client, kitchen, world.listing(key).id))["reserved"] == 0


async def test_bad_orders_are_refused_and_change_nothing(
    client: AsyncTestClient[Litestar], world: OrdersWorld, actors: Actors
) -> None:
    kitchen = world.kitchen
    rice = world.rice.id
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        (order_body([]), 400, None),
        (order_body([(rice, 0)]), 400, None),
        (order_body([(rice, -3)]), 400, None),
        (order_body([(str(uuid.uuid4()), 1)]), 422, "orders.unknown_product"),
        (
            {
                **order_body([(rice, 1)]),
                "delivery": {"date": "2020-01-01", "region_code": "35.76", "address": "x"},
            },
            422,
            "orders.delivery_in_past",
        ),
        ({**order_body([(rice, 1)]), "surprise": 1}, 400, None),
        (order_body([(rice, 1)], notes="x" * 1001), 400, None),
    ]
    for body, status, code in cases:
        assert_problem(await place(client, kitchen, body), status, code)
    assert_problem(
        await client.post("/v1/orders", json=order_body([(rice, 1)]), headers=kitchen.headers),
        400,
        "idempotency.key_invalid",
    )
    viewer = await actors.key_for(kitchen, "viewer")
    assert_problem(await place(client, viewer, order_body([(rice, 1)])), 403)
    orders = (await client.get("/v1/orders", headers=kitchen.headers)).json()["items"]
    assert orders == []
    assert (await listing_state(client, kitchen, world.rice_near.id))["reserved"] == 0


async def test_sphp_is_never_sold_to_a_kitchen(
    client: AsyncTestClient[Litestar], actors: Actors, world: OrdersWorld
) -> None:
    sphp = await new_product(client, world.admin, programme="sphp", price_caps=[])
    await new_listing(client, world.near, sphp, tiers=[(1, 62_500)], stock=50)
    body = assert_problem(
        await place(client, world.kitchen, order_body([(sphp.id, 2)])),
        422,
        "orders.programme_restricted",
    )
    assert body["extra"]["line_no"] == 1
    stall = await actors.org("food_stall", "buyer", region_code="35.76.02.1005")
    assert (await place(client, stall, order_body([(sphp.id, 2)]))).status_code == 201
    # 10 kg today already: 20 kg more would pass the 25 kg a day of the 2026 rule.
    over = await place(client, stall, order_body([(sphp.id, 4)]))
    assert_problem(over, 422, "orders.programme_restricted")


async def test_hot_sku_200_concurrent_buyers_never_oversell(
    client: AsyncTestClient[Litestar], actors: Actors, world: OrdersWorld
) -> None:
    product = await new_product(client, world.admin, price_caps=[], bulog_supplied=False)
    listing = await new_listing(client, world.near, product, tiers=[(1, 60_000)], stock=50)
    buyers = [await actors.org("food_stall", "buyer") for _ in range(20)]
    responses = await asyncio.gather(
        *(place(client, buyers[i % 20], order_body([(product.id, 1)])) for i in range(200))
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 50, statuses
    assert statuses.count(422) == 150, statuses
    losers = [r.json() for r in responses if r.status_code == 422]
    assert {b["code"] for b in losers} == {"orders.insufficient_supply"}
    final = await listing_state(client, world.near, listing.id)
    assert (final["on_hand"], final["reserved"], final["available"]) == (50, 50, 0)


async def test_same_idempotency_key_50_times_concurrently_makes_one_order(
    client: AsyncTestClient[Litestar], world: OrdersWorld
) -> None:
    kitchen = world.kitchen
    body = order_body([(world.oil.id, 2)])
    responses = await asyncio.gather(
        *(place(client, kitchen, body, key="nasi-kuning-senin") for _ in range(50))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1, "identical responses"
    orders = (await client.get("/v1/orders", headers=kitchen.headers)).json()["items"]
    assert len(orders) == 1
    assert (await listing_state(client, kitchen, world.oil_near.id))["reserved"] == 2
    reused = await place(client, kitchen, order_body([(world.oil.id, 3)]), key="nasi-kuning-senin")
    assert_problem(reused, 422, "idempotency.key_reused")


async def test_lifecycle_ship_deliver_short_and_cancel_rules(
    client: AsyncTestClient[Litestar], world: OrdersWorld
) -> None:
    kitchen, near = world.kitchen, world.near
    order = (await place(client, kitchen, order_body([(world.oil.id, 12)]))).json()
    leg = order["legs"][0]
    # Receipt before shipping is an illegal transition.
    assert_problem(
        await client.post(
            f"/v1/legs/{leg['id']}/deliver", json={"received_quantity": 12}, headers=kitchen.headers
        ),
        409,
        "state.invalid_transition",
    )
    queue = (
        await client.get("/v1/legs", params={"status": "reserved"}, headers=near.headers)
    ).json()["items"]
    assert leg["id"] in [item["id"] for item in queue]
    shipped = await client.post(f"/v1/legs/{leg['id']}/ship", headers=near.headers)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped"
    stock = await listing_state(client, near, world.oil_near.id)
    assert (stock["on_hand"], stock["reserved"]) == (36, 0)
    assert_problem(await client.post(f"/v1/legs/{leg['id']}/ship", headers=near.headers), 409)
    assert_problem(
        await client.post(f"/v1/orders/{order['id']}/cancel", headers=kitchen.headers),
        409,
        "orders.not_cancellable",
    )
    too_many = await client.post(
        f"/v1/legs/{leg['id']}/deliver", json={"received_quantity": 13}, headers=kitchen.headers
    )
    assert_problem(too_many, 422, "orders.received_more_than_shipped")
    delivered = await client.post(
        f"/v1/legs/{leg['id']}/deliver",
        json={"received_quantity": 10, "note": "2 botol bocor"},
        headers=kitchen.headers,
    )
    assert delivered.status_code == 200, delivered.text
    credited = 2 * 15_000 + (12 * 15_000 * 11 // 100 - 10 * 15_000 * 11 // 100)
    assert delivered.json()["credited_amount"] == credited
    after = (await client.get(f"/v1/orders/{order['id']}", headers=kitchen.headers)).json()
    assert after["status"] == "fulfilled"
    assert after["credited_total"] == credited


async def test_cancel_releases_reservations(
    client: AsyncTestClient[Litestar], world: OrdersWorld
) -> None:
    kitchen = world.kitchen
    order = (await place(client, kitchen, order_body([(world.rice.id, 30)]))).json()
    cancelled = await client.post(f"/v1/orders/{order['id']}/cancel", headers=kitchen.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert {leg["status"] for leg in cancelled.json()["legs"]} == {"cancelled"}
    for key in ("rice_near", "rice_far"):
        assert (await listing_state(client, kitchen, world.listing(key).id))["reserved"] == 0
    again = await client.post(f"/v1/orders/{order['id']}/cancel", headers=kitchen.headers)
    assert again.status_code == 200  # cancelling a cancelled order changes nothing


async def test_authorization_matrix(
    client: AsyncTestClient[Litestar], actors: Actors, world: OrdersWorld
) -> None:
    kitchen, near, far = world.kitchen, world.near, world.far
    order = (await place(client, kitchen, order_body([(world.rice.id, 15)]))).json()
    near_leg = next(
        leg for leg in order["legs"] if leg["supplier_organization_id"] == str(near.organization_id)
    )
    far_leg = next(
        leg for leg in order["legs"] if leg["supplier_organization_id"] == str(far.organization_id)
    )
    stranger = await actors.org("cooperative", "admin")
    # Buyer sees everything; each supplier sees only its own legs and their totals.
    assert (
        len((await client.get(f"/v1/orders/{order['id']}", headers=kitchen.headers)).json()["legs"])
        == 2
    )
    as_near = (await client.get(f"/v1/orders/{order['id']}", headers=near.headers)).json()
    assert [leg["id"] for leg in as_near["legs"]] == [near_leg["id"]]
    assert as_near["subtotal"] == near_leg["subtotal"]
    # An unrelated organization gets 404 everywhere; no key gets 401.
    attempts = [
        ("get", f"/v1/orders/{order['id']}", None),
        ("post", f"/v1/orders/{order['id']}/cancel", None),
        ("post", f"/v1/legs/{near_leg['id']}/ship", None),
        ("post", f"/v1/legs/{near_leg['id']}/deliver", {"received_quantity": 1}),
    ]
    for method, url, body in attempts:
        call = getattr(client, method)
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        assert_problem(await call(url, headers=stranger.headers, **kwargs), 404)
        assert_problem(await call(url, **kwargs), 401)
    # A supplier can't ship another supplier's leg, nor receive goods as the buyer.
    assert_problem(await client.post(f"/v1/legs/{far_leg['id']}/ship", headers=near.headers), 404)
    assert_problem(
        await client.post(
            f"/v1/legs/{near_leg['id']}/deliver",
            json={"received_quantity": 1},
            headers=near.headers,
        ),
        404,
    )
    assert_problem(await client.post(f"/v1/orders/{order['id']}/cancel", headers=near.headers), 404)
    # The stranger's lists don't show it.
    assert (await client.get("/v1/orders", headers=stranger.headers)).json()["items"] == []
    assert (await client.get("/v1/legs", headers=stranger.headers)).json()["items"] == []


async def test_kitchen_budget_envelope(
    client: AsyncTestClient[Litestar], actors: Actors, world: OrdersWorld
) -> None:
    kitchen = world.kitchen
    url = f"/v1/kitchens/{kitchen.organization_id}/budget-periods"
    start = dt.date.today()
    created = await client.post(
        url,
        json={"start_date": start.isoformat(), "portions_per_day": 1, "rupiah_per_portion": 10_000},
        headers=kitchen.headers,
    )
    assert created.status_code == 201, created.text
    period = created.json()
    assert period["envelope"] == 10 * 1 * 10_000
    assert period["operating_days"] == 10
    overlap = {"start_date": start.isoformat(), "portions_per_day": 1, "rupiah_per_portion": 8_000}
    overlapping = await client.post(url, json=overlap, headers=kitchen.headers)
    assert_problem(overlapping, 409, "orders.budget_period_overlaps")
    assert_problem(
        await client.post(
            url,
            json={
                "start_date": start.isoformat(),
                "portions_per_day": 1,
                "rupiah_per_portion": 9_000,
            },
            headers=kitchen.headers,
        ),
        400,
    )
    ok = await place(client, kitchen, order_body([(world.oil.id, 5)]))  # 77,500 + VAT
    assert ok.status_code == 201, ok.text
    over = await place(client, kitchen, order_body([(world.oil.id, 2)]))
    body = assert_problem(over, 422, "orders.budget_exceeded")
    assert body["extra"]["remaining"] == 100_000 - ok.json()["total"]
    figures = (await client.get(f"{url}/{period['id']}", headers=kitchen.headers)).json()
    assert figures["committed"] == ok.json()["total"]
    assert figures["remaining"] == 100_000 - ok.json()["total"]
    report = (await client.get(f"{url}/{period['id']}/report", headers=kitchen.headers)).json()
    assert report["by_category"] == [{"key": "oil", "amount": ok.json()["total"]}]
    assert report["orders"] == 1
    other = await actors.org("kitchen", "buyer")
    assert_problem(await client.get(f"{url}/{period['id']}", headers=other.headers), 404)


async def test_standing_order_materialises_once_per_date(
    client: AsyncTestClient[Litestar], world: OrdersWorld, session_factory: Any
) -> None:
    from marketplace.db import unit_of_work
    from marketplace.orders.standing import StandingOrderService

    kitchen = world.kitchen
    weekday = str((dt.date.today() + dt.timedelta(days=1)).isoweekday())
    created = await client.post(
        "/v1/standing-orders",
        json={
            "name": "Menu harian",
            "weekdays": {weekday: [{"product_id": world.oil.id, "quantity": 3}]},
            "delivery": {"date": TOMORROW, "region_code": "35.76.02.1005", "address": "Dapur SPPG"},
        },
        headers=kitchen.headers,
    )
    assert created.status_code == 201, created.text
    standing_id = uuid.UUID(created.json()["id"])
    delivery = dt.date.today() + dt.timedelta(days=1)

    async def run() -> uuid.UUID | None:
        async with unit_of_work(session_factory) as uow:
            order_id = await StandingOrderService(uow).materialize(standing_id, delivery)
            await uow.commit()
            return order_id

    first, second = await run(), await run()
    concurrent = await asyncio.gather(run(), run())
    assert first is not None
    assert {first, second, *concurrent} == {first}
    orders = (await client.get("/v1/orders", headers=kitchen.headers)).json()["items"]
    assert [o["standing_order_id"] for o in orders] == [str(standing_id)]


async def test_concurrent_orders_never_overspend_the_envelope(
    client: AsyncTestClient[Litestar], world: OrdersWorld
) -> None:
    kitchen = world.kitchen
    url = f"/v1/kitchens/{kitchen.organization_id}/budget-periods"
    body = {
        "start_date": dt.date.today().isoformat(),
        "portions_per_day": 1,
        "rupiah_per_portion": 8_000,
    }
    period = (await client.post(url, json=body, headers=kitchen.headers)).json()
    envelope = period["envelope"]  # Rp80,000: room for exactly one 66,000 sack of rice
    responses = await asyncio.gather(
        *(place(client, kitchen, order_body([(world.rice.id, 1)])) for _ in range(12))
    )
    placed = [r.json() for r in responses if r.status_code == 201]
    refused = [r.json() for r in responses if r.status_code != 201]
    assert len(placed) == 1
    assert {b["code"] for b in refused} == {"orders.budget_exceeded"}
    figures = (await client.get(f"{url}/{period['id']}", headers=kitchen.headers)).json()
    assert figures["committed"] == placed[0]["total"] <= envelope


# --- VAT of consignment legs --------------------------------------------------------


@pytest.mark.parametrize(
    ("registered", "vat"), [(True, 5 * 20_000 * 11 // 100), (False, 0)], ids=["pkp", "non-pkp"]
)
async def test_a_consignment_leg_charges_vat_only_for_a_vat_registered_consignor(
    client: AsyncTestClient[Litestar], actors: Actors, registered: bool, vat: int
) -> None:
    w = await consigned_oil(client, actors, consignor_vat_registered=registered)
    body = order_body([(w.oil.id, 5)])
    preview = await client.post("/v1/orders/preview", json=body, headers=w.kitchen.headers)
    assert preview.status_code == 200, preview.text
    [planned] = preview.json()["legs"]
    assert (planned["kind"], planned["vat_amount"]) == ("consignment", vat)
    response = await place(client, w.kitchen, body)
    assert response.status_code == 201, response.text
    order = response.json()
    [leg] = order["legs"]
    assert leg["kind"] == "consignment"
    assert leg["owner_organization_id"] == str(w.umkm.organization_id)
    assert (leg["subtotal"], leg["vat_amount"]) == (100_000, vat)
    assert (order["vat_total"], order["total"]) == (vat, 100_000 + vat)
    # A short delivery recomputes the leg's VAT the same way: 4 of 5 arrive.
    shipped = await client.post(f"/v1/legs/{leg['id']}/ship", headers=w.coop_seller.headers)
    assert shipped.status_code == 200, shipped.text
    delivered = await client.post(
        f"/v1/legs/{leg['id']}/deliver",
        json={"received_quantity": 4},
        headers=w.kitchen.headers,
    )
    assert delivered.status_code == 200, delivered.text
    delivered_vat = 4 * 20_000 * 11 // 100 if registered else 0
    assert delivered.json()["credited_amount"] == (100_000 + vat) - (80_000 + delivered_vat)


async def test_stock_legs_keep_the_products_vat_beside_a_non_registered_consignor(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    """Only the consignment leg is VAT-free: the cooperative's own stock of the same
    standard-rated product still charges 11%, whatever the consignor's registration."""
    w = await consigned_oil(client, actors, consignor_vat_registered=False)
    own = await new_listing(client, w.coop_seller, w.oil, tiers=[(1, 21_000)])
    response = await place(client, w.kitchen, order_body([(w.oil.id, 15)]))
    assert response.status_code == 201, response.text
    legs = {leg["kind"]: leg for leg in response.json()["legs"]}
    assert legs.keys() == {"consignment", "stock"}
    assert (legs["consignment"]["quantity"], legs["consignment"]["vat_amount"]) == (10, 0)
    assert legs["stock"]["listing_id"] == own.id
    assert (legs["stock"]["quantity"], legs["stock"]["vat_amount"]) == (5, 105_000 * 11 // 100)
    assert response.json()["vat_total"] == 105_000 * 11 // 100


async def test_a_placement_that_loses_a_race_retries_on_fresh_stock_without_leftovers(
    client: AsyncTestClient[Litestar],
    world: OrdersWorld,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another order takes 5 of the nearest rice between the split and the reservation:
    the first attempt's reservation is refused (after the oil already changed in the same
    statement), everything it wrote is rolled back, and the retry splits on fresh stock."""
    from marketplace.listings.stock_service import StockService
    from marketplace.orders.placement import OrderPlacement

    plan, planned = OrderPlacement.plan, 0

    async def plan_then_lose_the_race(self: OrderPlacement, *args: Any, **kwargs: Any) -> Any:
        nonlocal planned
        result = await plan(self, *args, **kwargs)
        planned += 1
        if planned == 1:  # a competing order commits (on the app's engine, in its loop)
            bind = self.uow.session.bind
            assert isinstance(bind, AsyncEngine)
            async with unit_of_work(create_session_factory(bind)) as uow:
                rice_near = uuid.UUID(world.rice_near.id)
                await StockService(uow).reserve([(rice_near, 5)], reference="race", principal=None)
                await uow.commit()
        return result

    monkeypatch.setattr(OrderPlacement, "plan", plan_then_lose_the_race)
    kitchen = world.kitchen
    response = await place(client, kitchen, order_body([(world.oil.id, 12), (world.rice.id, 10)]))
    assert response.status_code == 201, response.text
    assert planned == 2
    legs = [(leg["listing_id"], leg["quantity"]) for leg in response.json()["legs"]]
    assert legs == [
        (world.oil_near.id, 12),
        (world.rice_near.id, 5),
        (world.rice_far.id, 5),
    ]
    state = {
        name: await listing_state(client, world.near, world.listing(name).id)
        for name in ("oil_near", "rice_near", "rice_far")
    }
    assert {name: s["reserved"] for name, s in state.items()} == {
        "oil_near": 12,  # once, not twice: the first attempt's change was rolled back
        "rice_near": 10,
        "rice_far": 5,
    }
    async with session_factory() as session:
        movements = (
            await session.execute(
                text("SELECT count(*) FROM stock_movements WHERE reference = :r"),
                {"r": f"order:{response.json()['id']}"},
            )
        ).scalar_one()
        legs_written = (
            await session.execute(
                text(
                    "SELECT count(*) FROM order_legs l JOIN orders o ON o.id = l.order_id "
                    "WHERE o.buyer_organization_id = :b"
                ),
                {"b": kitchen.organization_id},
            )
        ).scalar_one()
    assert (movements, legs_written) == (3, 3)


async def test_a_connection_lost_while_reserving_is_a_503_and_changes_nothing(
    client: AsyncTestClient[Litestar], world: OrdersWorld, settings: Settings
) -> None:
    """The placement blocks on a listing's row lock inside its savepoint; its database
    backend is then terminated. The answer is a retryable 503, not a 500 from trying to
    roll back to the savepoint on a dead connection, and nothing was reserved."""
    listing_id = world.rice_near.id
    assert settings.database_url is not None
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    locked = threading.Event()
    killed: list[int] = []

    async def hold_lock_then_kill_the_waiter() -> None:
        # Its own thread and loop: the test client blocks this loop while a request runs.
        holder = await asyncpg.connect(dsn)
        try:
            async with holder.transaction():
                await holder.execute(
                    "SELECT id FROM listings WHERE id = $1 FOR UPDATE", uuid.UUID(listing_id)
                )
                locked.set()
                for _ in range(500):
                    waiting = await holder.fetch(
                        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND application_name = 'marketplace' AND pid <> pg_backend_pid()"
                    )
                    if waiting:
                        killed.append(waiting[0]["pid"])
                        await holder.execute("SELECT pg_terminate_backend($1)", killed[0])
                        return
                    await asyncio.sleep(0.02)
        finally:
            await holder.close()

    killer = threading.Thread(target=asyncio.run, args=(hold_lock_then_kill_the_waiter(),))
    killer.start()
    try:
        assert await asyncio.to_thread(locked.wait, 10)
        response = await place(client, world.kitchen, order_body([(world.rice.id, 2)]))
    finally:
        await asyncio.to_thread(killer.join, 30)
    assert killed, "the placement never waited on the listing's lock"
    assert_problem(response, 503)
    state = await listing_state(client, world.near, listing_id)
    assert (state["on_hand"], state["reserved"]) == (10, 0)
