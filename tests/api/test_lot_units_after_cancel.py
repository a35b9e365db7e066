"""Units a received Bulog lot released to an order that is then cancelled become the
cooperative's own, sellable stock (issue 13, item 14)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.test_procurement_lots import (
    CITY,
    DISTRICTS,
    get_json,
    open_lot_of,
    order_body,
    place,
)
from tests.builders.catalog import Listing, Product, new_listing, new_product
from tests.support import Actor, Actors


@dataclass(frozen=True)
class SackWorld:
    """25 kg sacks sold by the lot through one cooperative to six kitchens."""

    rice: Product
    coop: Actor
    bulog_listing: Listing
    kitchens: list[Actor]


async def sack_world(client: AsyncTestClient[Litestar], actors: Actors) -> SackWorld:
    """25 kg sacks: Bulog sells whole tonnes, 40 sacks, so a demand of 30 buys 40."""
    admin = await actors.platform_admin()
    rice = await new_product(
        client, admin, sku=f"BRS-25-{uuid.uuid4().hex[:8]}", name="Beras Medium 25 kg",
        unit_label="karung 25 kg", net_content=25_000, price_caps=[],
    )  # fmt: skip
    district = f"{CITY}.{next(DISTRICTS)}"
    await actors.org("bulog", "seller", region_code=f"{district}.1001")
    coop = await actors.org("cooperative", "admin", region_code=f"{district}.1002")
    bulog_listing = await new_listing(
        client, coop, rice, tiers=[(1, 300_000)], stock=0, supply_mode="bulog_lot"
    )
    kitchens = [
        await actors.org("kitchen", "buyer", region_code=f"{district}.10{i + 10}") for i in range(6)
    ]
    return SackWorld(rice=rice, coop=coop, bulog_listing=bulog_listing, kitchens=kitchens)


async def receive_lot(
    client: AsyncTestClient[Litestar], w: SackWorld, received: int
) -> dict[str, Any]:
    coop = w.coop
    lot = await open_lot_of(client, coop, w.rice.id)
    url = f"/v1/procurement/bulog-lots/{lot['id']}"
    submitted = await client.post(f"{url}/submit", headers=coop.headers)
    assert submitted.status_code == 200, submitted.text
    response = await client.post(
        f"{url}/receive", json={"received_quantity": received}, headers=coop.headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def levels(client: AsyncTestClient[Litestar], w: SackWorld, listing_id: str) -> Any:
    listing = await get_json(client, w.coop, f"/v1/listings/{listing_id}")
    return (listing["supply_mode"], listing["on_hand"], listing["reserved"])


async def test_a_cancelled_orders_lot_units_are_offered_again_before_any_new_lot(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    w = await sack_world(client, actors)
    kitchen, next_kitchen = w.kitchens[0], w.kitchens[1]
    order = await place(client, kitchen, order_body(w.rice.id, 30))
    assert order.status_code == 201, order.text
    assert [leg["kind"] for leg in order.json()["legs"]] == ["bulog_lot"]

    # A lot of 40 is received: 30 released to the kitchen's leg, 10 surplus to own stock.
    received = await receive_lot(client, w, received=40)
    assert (received["released_total"], received["surplus"]) == (30, 10)
    own_id = received["surplus_listing_id"]
    bulog_id = w.bulog_listing.id
    assert await levels(client, w, bulog_id) == ("bulog_lot", 30, 30)

    cancelled = await client.post(
        f"/v1/orders/{order.json()['id']}/cancel", headers=kitchen.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    # The 30 sacks in the warehouse are the cooperative's stock now, nothing is stranded.
    assert await levels(client, w, bulog_id) == ("bulog_lot", 0, 0)
    assert await levels(client, w, own_id) == ("stock", 40, 0)
    moves = await get_json(client, w.coop, f"/v1/listings/{bulog_id}/stock-movements")
    assert [(m["kind"], m["on_hand_delta"], m["reserved_delta"]) for m in moves["items"]][-2:] == [
        ("release", 0, -30),
        ("adjust", -30, 0),
    ]

    # The next kitchen asking for 30 is served from them: one stock leg, no new lot.
    preview = await client.post(
        "/v1/orders/preview",
        json=order_body(w.rice.id, 30),
        headers=next_kitchen.headers,
    )
    assert preview.status_code == 200, preview.text
    legs = preview.json()["legs"]
    assert [(leg["kind"], leg["listing_id"], leg["quantity"]) for leg in legs] == [
        ("stock", own_id, 30)
    ]
    placed = await place(client, next_kitchen, order_body(w.rice.id, 30))
    assert [leg["kind"] for leg in placed.json()["legs"]] == ["stock"]
    open_lots = await get_json(client, w.coop, "/v1/procurement/bulog-lots?status=open")
    assert [lot for lot in open_lots["items"] if lot["product_id"] == w.rice.id] == []


async def test_concurrent_cancels_move_every_released_unit_once(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    """Six kitchens in one lot, a short receipt (some legs released in part), all cancel
    at once: every released unit lands in one own-stock listing, once."""
    w = await sack_world(client, actors)
    orders = []
    for kitchen in w.kitchens:
        response = await place(client, kitchen, order_body(w.rice.id, 7))
        assert response.status_code == 201, response.text
        orders.append((kitchen, response.json()["id"]))
    received = await receive_lot(client, w, received=38)  # demand 42, lot of 80, 38 arrive
    assert (received["released_total"], received["unfilled_total"]) == (38, 4)
    assert received["surplus_listing_id"] is None
    responses = await asyncio.gather(
        *(
            client.post(f"/v1/orders/{order_id}/cancel", headers=kitchen.headers)
            for kitchen, order_id in orders
        )
    )
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert await levels(client, w, w.bulog_listing.id) == ("bulog_lot", 0, 0)
    mine = await get_json(
        client,
        w.coop,
        f"/v1/listings?product_id={w.rice.id}&seller_organization_id={w.coop.organization_id}",
    )
    stock = [item for item in mine["items"] if item["supply_mode"] == "stock"]
    assert [(s["on_hand"], s["reserved"]) for s in stock] == [(38, 0)]
