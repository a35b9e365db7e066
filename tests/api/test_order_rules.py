"""Rules that hold at the moment of sale, through the API: zone price caps (HET) for every
kind of leg, sourcing from the delivery region, and the SPHP buyer and daily rules."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.db import unit_of_work
from marketplace.orders.domain import ProgrammeRestricted
from marketplace.orders.domain.placed import PlacedOrder
from marketplace.orders.placement import OrderPlacement, placement_policy
from marketplace.orders.repository import OrderRepository
from marketplace.orders.schemas import OrderCreate
from marketplace.settings import load_settings
from tests.builders import orders
from tests.builders.catalog import (
    Listing,
    Product,
    eggs_product_body,
    new_listing,
    new_product,
    product_body,
)
from tests.builders.consignment import new_agreement, received_intake
from tests.builders.procurement import contract_body, new_contract
from tests.catalog import create_listing, create_product
from tests.placing import buyer_principal, place_at_once
from tests.support import Actor, Actors, assert_problem

TODAY = dt.date.today()
TOMORROW = TODAY + dt.timedelta(days=1)
MOJOKERTO = "35.76.02.1005"  # Kota Mojokerto, Magersari
BLITAR = "35.72.03.1004"  # Kota Blitar
DEPOK = "32.76.03.1001"
JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")  # the test organizations' time zone


def order_body(
    lines: list[tuple[str, int]], region: str = MOJOKERTO, pins: dict[int, str] | None = None
) -> dict[str, Any]:
    return orders.order_body(
        lines, date=TOMORROW.isoformat(), region_code=region, address="Dapur", pins=pins
    )


async def place(client: AsyncTestClient[Litestar], buyer: Actor, body: dict[str, Any]) -> Any:
    return await orders.place_order(client, buyer, body)


async def preview(client: AsyncTestClient[Litestar], buyer: Actor, body: dict[str, Any]) -> Any:
    response = await client.post("/v1/orders/preview", json=body, headers=buyer.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def set_caps(
    client: AsyncTestClient[Litestar], admin: Actor, product_id: str, caps: dict[str, int]
) -> None:
    response = await client.patch(
        f"/v1/products/{product_id}",
        json={"price_caps": [{"region_prefix": p, "max_unit_price": c} for p, c in caps.items()]},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


async def lower_caps_before_this_fix(
    factory: async_sessionmaker[AsyncSession], product_id: str, caps: dict[str, int]
) -> None:
    """A cap lowered without the listings being paused (as before this fix): listings
    above it are still active and must not sell above it."""
    caps_json = [{"region_prefix": p, "max_unit_price": c} for p, c in caps.items()]
    async with factory() as session:
        await session.execute(
            text("UPDATE products SET price_caps = CAST(:c AS jsonb) WHERE id = :p"),
            {"c": json.dumps(caps_json), "p": uuid.UUID(product_id)},
        )
        await session.commit()


async def reserved(client: AsyncTestClient[Litestar], who: Actor, listing_id: str) -> int:
    response = await client.get(f"/v1/listings/{listing_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    value: int = response.json()["reserved"]
    return value


# --- zone price caps at the moment of sale ------------------------------------------


async def test_a_lowered_cap_holds_at_sale_for_stock_legs_zone_by_zone(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The issue's case: Mojokerto's cap falls to Rp70,000 while a Mojokerto listing asks
    Rp72,000. It is paused and not sold; the Blitar listing at Rp72,000 is within
    Blitar's (the province's) Rp75,000 and fills the Mojokerto kitchen's order."""
    admin = await actors.platform_admin()
    caps = [{"region_prefix": "35", "max_unit_price": 75_000}]
    rice = await create_product(client, admin, price_caps=caps)
    near = await actors.org("cooperative", "seller", region_code=MOJOKERTO)
    blitar = await actors.org("cooperative", "seller", region_code=BLITAR)
    kitchen = await actors.org("kitchen", "buyer", region_code=MOJOKERTO)
    near_listing = await create_listing(client, near, rice["id"], tiers=[(1, 72_000)], stock=50)
    far_listing = await create_listing(client, blitar, rice["id"], tiers=[(1, 72_000)], stock=50)

    await set_caps(client, admin, rice["id"], {"35": 75_000, "35.76": 70_000})
    paused = await client.get(f"/v1/listings/{near_listing['id']}", headers=near.headers)
    assert paused.json()["status"] == "paused"
    async with session_factory() as session:
        told = (
            await session.execute(
                text(
                    "SELECT organization_id, payload FROM outbox_events "
                    "WHERE topic = 'listing.paused' AND payload->>'listing_id' = :l"
                ),
                {"l": near_listing["id"]},
            )
        ).all()
    assert [(org, p["cap"], p["lowest_unit_price"]) for org, p in told] == [
        (near.organization_id, 70_000, 72_000)
    ]
    # Search no longer offers it; re-opening it at the old price is refused.
    found = await client.get(
        "/v1/listings", params={"product_id": rice["id"]}, headers=kitchen.headers
    )
    assert [item["id"] for item in found.json()["items"]] == [far_listing["id"]]
    reopen = await client.patch(
        f"/v1/listings/{near_listing['id']}", json={"status": "active"}, headers=near.headers
    )
    assert_problem(reopen, 422, "listings.price_above_cap")

    body = order_body([(rice["id"], 10)])
    planned = await preview(client, kitchen, body)
    assert [(leg["listing_id"], leg["unit_price"]) for leg in planned["legs"]] == [
        (far_listing["id"], 72_000)
    ]
    placed = await place(client, kitchen, body)
    assert placed.status_code == 201, placed.text
    assert [(leg["listing_id"], leg["unit_price"]) for leg in placed.json()["legs"]] == [
        (far_listing["id"], 72_000)
    ]


async def test_an_active_listing_above_the_cap_is_never_sold_above_it(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Listings still active above a lowered cap (the cap fell before listings were
    paused, or only some tiers are above it): the sale keeps to the cap all the same."""
    admin = await actors.platform_admin()
    rice = await create_product(client, admin, price_caps=[])
    near = await actors.org("cooperative", "seller", region_code=MOJOKERTO)
    other = await actors.org("cooperative", "seller", region_code="35.76.01.1002")
    kitchen = await actors.org("kitchen", "buyer", region_code=MOJOKERTO)
    flat = await create_listing(client, near, rice["id"], tiers=[(1, 72_000)], stock=50)
    tiered = await create_listing(
        client, other, rice["id"], tiers=[(1, 72_000), (20, 68_000)], stock=50
    )
    await lower_caps_before_this_fix(session_factory, rice["id"], {"35.76": 70_000})

    # 10 sacks: no listing may sell 10 within the cap (the tiered one only from 20 up).
    short = await preview(client, kitchen, order_body([(rice["id"], 10)]))
    assert short["legs"] == []
    [shortfall] = short["shortfalls"]
    assert (shortfall["requested"], shortfall["unfilled"]) == (10, 10)
    assert shortfall["held_back_above_cap"] == [
        {"listing_id": flat["id"], "contract_id": None, "lowest_unit_price": 72_000,
         "cap": 70_000, "region_prefix": "35.76", "currency": "IDR"}
    ]  # fmt: skip
    refused = await place(client, kitchen, order_body([(rice["id"], 10)]))
    body = assert_problem(refused, 422, "orders.insufficient_supply")
    assert body["extra"]["shortfalls"][0]["held_back_above_cap"] == [
        {"listing_id": flat["id"], "lowest_unit_price": 72_000, "cap": 70_000,
         "region_prefix": "35.76"}
    ]  # fmt: skip
    assert "above the zone price cap" in body["detail"]
    # 25 sacks: the tiered listing's 20+ price is within the cap, so it sells at that.
    placed = await place(client, kitchen, order_body([(rice["id"], 25)]))
    assert placed.status_code == 201, placed.text
    assert [(leg["listing_id"], leg["unit_price"]) for leg in placed.json()["legs"]] == [
        (tiered["id"], 68_000)
    ]
    # A line pinned to the listing above the cap is refused with the figures.
    pinned = await place(client, kitchen, order_body([(rice["id"], 5)], pins={1: flat["id"]}))
    problem = assert_problem(pinned, 422, "orders.price_above_cap")
    assert problem["extra"] == {
        "line_no": 1,
        "listing_id": flat["id"],
        "unit_price": 72_000,
        "cap": 70_000,
    }
    assert await reserved(client, near, flat["id"]) == 0


async def test_a_consignment_leg_above_the_cap_is_not_sold(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.platform_admin()
    oil = await create_product(
        client, admin, category="oil", bulog_supplied=False, name="Minyakita 1 L",
        unit_code="XBO", unit_label="botol", net_content=1000, net_content_unit="MLT",
        price_caps=[{"region_prefix": "35", "max_unit_price": 15_700}],
    )  # fmt: skip
    coop = await actors.org("cooperative", "admin", region_code=MOJOKERTO)
    umkm = await actors.org("umkm", "seller", region_code=MOJOKERTO)
    agreement = await new_agreement(client, coop, umkm, bps=1000)
    intake = await received_intake(
        client, coop, agreement, oil["id"], quantity=20, unit_price=15_500
    )
    consigned = intake.listing_id
    own = await create_listing(
        client, await actors.key_for(coop, "seller"), oil["id"], tiers=[(1, 15_000)], stock=5
    )
    kitchen = await actors.org("kitchen", "buyer", region_code=MOJOKERTO)
    before = await preview(client, kitchen, order_body([(oil["id"], 12)]))
    assert {leg["kind"] for leg in before["legs"]} == {"consignment"}

    await lower_caps_before_this_fix(session_factory, oil["id"], {"35": 15_200})
    after = await preview(client, kitchen, order_body([(oil["id"], 12)]))
    assert [(leg["kind"], leg["quantity"]) for leg in after["legs"]] == [("stock", 5)]
    held = after["shortfalls"][0]["held_back_above_cap"]
    assert [(h["listing_id"], h["lowest_unit_price"], h["cap"]) for h in held] == [
        (consigned, 15_500, 15_200)
    ]
    assert_problem(
        await place(client, kitchen, order_body([(oil["id"], 12)])),
        422,
        "orders.insufficient_supply",
    )
    placed = await place(client, kitchen, order_body([(oil["id"], 5)]))
    assert placed.status_code == 201, placed.text
    assert [(leg["listing_id"], leg["kind"]) for leg in placed.json()["legs"]] == [
        (own["id"], "stock")
    ]


async def test_a_bulog_lot_listing_above_the_cap_is_not_pooled(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.platform_admin()
    rice = await create_product(client, admin, price_caps=[])  # Bulog-supplied 5 kg sacks
    await actors.org("bulog", "seller", region_code="35.76.01.1001")
    coop = await actors.org("cooperative", "admin", region_code=MOJOKERTO)
    lot_listing = await create_listing(
        client, coop, rice["id"], tiers=[(1, 64_000)], stock=0, supply_mode="bulog_lot"
    )
    kitchen = await actors.org("kitchen", "buyer", region_code=MOJOKERTO)
    within = await preview(client, kitchen, order_body([(rice["id"], 40)]))
    assert [(leg["kind"], leg["unit_price"]) for leg in within["legs"]] == [("bulog_lot", 64_000)]

    await lower_caps_before_this_fix(session_factory, rice["id"], {"35": 62_500})
    above = await preview(client, kitchen, order_body([(rice["id"], 40)]))
    assert above["legs"] == []
    held = above["shortfalls"][0]["held_back_above_cap"]
    assert [(h["listing_id"], h["lowest_unit_price"], h["cap"]) for h in held] == [
        (lot_listing["id"], 64_000, 62_500)
    ]
    refused = await place(client, kitchen, order_body([(rice["id"], 40)]))
    assert_problem(refused, 422, "orders.insufficient_supply")
    lots = await client.get("/v1/procurement/bulog-lots?status=open", headers=coop.headers)
    assert [lot for lot in lots.json()["items"] if lot["product_id"] == rice["id"]] == []


async def test_a_trade_contract_above_its_suppliers_cap_is_not_called_off(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    admin = await actors.platform_admin()
    eggs = await create_product(client, admin, **eggs_product_body(sku=product_body()["sku"]))
    trade_center = await actors.org("trade_center", "admin", region_code="35.72.01.1001")
    depok = await actors.org("government", "admin", region_code="32.76.01.1001")
    supplier = await actors.org("cooperative", "admin", region_code=BLITAR)
    contract = await new_contract(
        client,
        trade_center,
        contract_body(
            eggs["id"],
            depok,
            [(supplier, 100)],
            start_date=TODAY - dt.timedelta(days=1),
            end_date=TODAY + dt.timedelta(days=30),
        ),
    )
    kitchen = await actors.org("kitchen", "buyer", region_code=DEPOK)
    body = order_body([(eggs["id"], 10)], region=DEPOK)
    assert [leg["kind"] for leg in (await preview(client, kitchen, body))["legs"]] == [
        "trade_contract"
    ]
    # Blitar's cap (the supplying cooperative's zone) falls below the contract price.
    await set_caps(client, admin, eggs["id"], {"35.72": 52_000})
    above = await preview(client, kitchen, body)
    assert above["legs"] == []
    held = above["shortfalls"][0]["held_back_above_cap"]
    assert [(h["contract_id"], h["lowest_unit_price"], h["cap"], h["region_prefix"]) for h in
            held] == [(contract.id, 55_000, 52_000, "35.72")]  # fmt: skip
    refused = await place(client, kitchen, body)
    problem = assert_problem(refused, 422, "orders.insufficient_supply")
    assert problem["extra"]["shortfalls"][0]["held_back_above_cap"][0]["contract_id"] == (
        contract.id
    )
    week = (
        await client.get(
            f"/v1/procurement/trade-contracts/{contract.id}",
            headers=trade_center.headers,
        )
    ).json()["weeks"]
    assert sum(w["called_off"] for w in week) == 0


# --- sourcing from the delivery region ----------------------------------------------


async def test_the_nearest_supplier_is_measured_from_the_delivery_address(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    """A kitchen registered in Mojokerto cooks for a Blitar village: the Blitar
    cooperative supplies it, though the Mojokerto one is next door to the kitchen's
    office and cheaper. Delivered in Mojokerto, the same order goes to Mojokerto."""
    admin = await actors.platform_admin()
    rice = await create_product(client, admin, price_caps=[])
    mojokerto = await actors.org("cooperative", "seller", region_code=MOJOKERTO)
    blitar = await actors.org("cooperative", "seller", region_code="35.72.03.1009")
    kitchen = await actors.org("kitchen", "buyer", region_code=MOJOKERTO)
    near_office = await create_listing(client, mojokerto, rice["id"], tiers=[(1, 60_000)])
    near_kitchen = await create_listing(client, blitar, rice["id"], tiers=[(1, 63_000)])

    to_blitar = order_body([(rice["id"], 10)], region=BLITAR)
    planned = await preview(client, kitchen, to_blitar)
    assert [leg["listing_id"] for leg in planned["legs"]] == [near_kitchen["id"]]
    placed = await place(client, kitchen, to_blitar)
    assert placed.status_code == 201, placed.text
    assert [leg["listing_id"] for leg in placed.json()["legs"]] == [near_kitchen["id"]]
    assert placed.json()["delivery"]["region_code"] == BLITAR
    at_home = await preview(client, kitchen, order_body([(rice["id"], 10)], region=MOJOKERTO))
    assert [leg["listing_id"] for leg in at_home["legs"]] == [near_office["id"]]


# --- SPHP rice ----------------------------------------------------------------------


@dataclass(frozen=True)
class SphpWorld:
    """SPHP rice (the price-stabilisation programme's) in stock at a Mojokerto cooperative."""

    sphp: Product
    coop: Actor
    listing: Listing


async def sphp_world(client: AsyncTestClient[Litestar], actors: Actors) -> SphpWorld:
    admin = await actors.platform_admin()
    sphp = await new_product(
        client, admin, name="Beras SPHP 5 kg", programme="sphp", price_caps=[]
    )  # 5 kg sacks
    coop = await actors.org("cooperative", "seller", region_code=MOJOKERTO)
    listing = await new_listing(client, coop, sphp, tiers=[(1, 62_500)], stock=500)
    return SphpWorld(sphp=sphp, coop=coop, listing=listing)


async def test_sphp_is_for_consumers_only_and_the_refusal_says_why(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    w = await sphp_world(client, actors)
    body = order_body([(w.sphp.id, 1)])
    for kind in ("kitchen", "cooperative", "government", "bumn"):
        buyer = await actors.org(kind, "buyer", region_code=MOJOKERTO)
        refused = assert_problem(
            await place(client, buyer, body), 422, "orders.programme_restricted"
        )
        assert refused["extra"]["reason"] == "buyer_kind_not_allowed"
        assert refused["extra"]["buyer_kind"] == kind
        assert refused["extra"]["allowed_buyer_kinds"] == ["food_stall", "umkm"]
        if kind == "cooperative":
            assert "Bulog lots" in refused["detail"]
    for kind in ("food_stall", "umkm"):
        buyer = await actors.org(kind, "buyer", region_code=MOJOKERTO)
        assert (await place(client, buyer, body)).status_code == 201
    assert await reserved(client, w.coop, w.listing.id) == 2


async def test_the_sphp_limit_is_per_buyer_per_day_across_its_orders(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    w = await sphp_world(client, actors)
    stall = await actors.org("food_stall", "buyer", region_code=MOJOKERTO)
    sphp = w.sphp.id
    first = await place(client, stall, order_body([(sphp, 3)]))  # 15 kg
    assert first.status_code == 201, first.text
    second = await place(client, stall, order_body([(sphp, 2)]))  # 25 kg today
    assert second.status_code == 201, second.text
    over = await place(client, stall, order_body([(sphp, 1)]))
    figures = assert_problem(over, 422, "orders.programme_restricted")["extra"]
    assert figures == {
        "line_no": 1,
        "programme": "sphp",
        "reason": "over_daily_weight_limit",
        "max_grams": 25_000,
        "bought_today_grams": 25_000,
        "requested_grams": 5_000,
        "grams": 30_000,
    }
    previewed = await client.post(
        "/v1/orders/preview", json=order_body([(sphp, 1)]), headers=stall.headers
    )
    assert assert_problem(previewed, 422, "orders.programme_restricted")["extra"] == figures
    # Another buyer's day is its own.
    neighbour = await actors.org("food_stall", "buyer", region_code=MOJOKERTO)
    assert (await place(client, neighbour, order_body([(sphp, 5)]))).status_code == 201
    # A cancelled order gives its weight back.
    cancelled = await client.post(f"/v1/orders/{second.json()['id']}/cancel", headers=stall.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert (await place(client, stall, order_body([(sphp, 2)]))).status_code == 201
    assert_problem(await place(client, stall, order_body([(sphp, 1)])), 422)
    # What was ordered before the buyer's local midnight counts for that day, not today.
    midnight = dt.datetime.combine(dt.datetime.now(JAKARTA).date(), dt.time(), JAKARTA)
    async with session_factory() as session:
        await session.execute(
            text(
                "UPDATE orders SET created_at = :t WHERE buyer_organization_id = :b "
                "AND status <> 'cancelled'"
            ),
            {"t": midnight - dt.timedelta(seconds=1), "b": stall.organization_id},
        )
        await session.commit()
    assert (await place(client, stall, order_body([(sphp, 5)]))).status_code == 201


async def test_concurrent_sphp_orders_of_one_buyer_never_exceed_the_daily_limit(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twelve orders of 10 kg from one food stall at once: two fit in 25 kg, and only
    two are placed; the others are told what was already bought. Each placement yields
    after reading what was bought today, so without the (buyer, day) lock the others
    would read the same figure meanwhile and all fit."""
    read = OrderRepository.programme_grams_ordered

    async def read_then_yield(self: OrderRepository, *args: Any) -> int:
        grams = await read(self, *args)
        await asyncio.sleep(0.05)  # widens the race; correctness never depends on it
        return grams

    w = await sphp_world(client, actors)
    stall = await actors.org("food_stall", "buyer", region_code=MOJOKERTO)
    monkeypatch.setattr(OrderRepository, "programme_grams_ordered", read_then_yield)
    results = await place_at_once(
        session_factory, [(stall, order_body([(w.sphp.id, 2)])) for _ in range(12)]
    )
    placed = [r for r in results if isinstance(r, PlacedOrder)]
    refused = [r for r in results if not isinstance(r, PlacedOrder)]
    assert len(placed) == 2, results
    for refusal in refused:
        assert refusal.code == "orders.programme_restricted", refusal
        assert (refusal.extra["bought_today_grams"], refusal.extra["requested_grams"]) == (
            20_000,
            10_000,
        )
    assert await reserved(client, w.coop, w.listing.id) == 4


async def test_the_sphp_daily_limit_is_a_setting(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """`SPHP_DAILY_LIMIT_KG` (25 by default, the 2026 rule) is what placement enforces."""
    assert load_settings({}).sphp_daily_limit_kg == 25
    assert placement_policy(load_settings({})).sphp_max_grams_per_day == 25_000
    settings = load_settings({"SPHP_DAILY_LIMIT_KG": "10"})  # back to the 2025 rule
    with pytest.raises(ValueError, match="SPHP_DAILY_LIMIT_KG"):
        load_settings({"SPHP_DAILY_LIMIT_KG": "-1"})
    w = await sphp_world(client, actors)
    stall = await actors.org("food_stall", "buyer", region_code=MOJOKERTO)
    data = msgspec.convert(order_body([(w.sphp.id, 3)]), OrderCreate)  # 15 kg
    async with unit_of_work(session_factory) as uow:
        placement = OrderPlacement(uow, placement_policy(settings))
        with pytest.raises(ProgrammeRestricted) as raised:
            await placement.place(buyer_principal(stall), data)
    assert (raised.value.extra["max_grams"], raised.value.extra["requested_grams"]) == (
        10_000,
        15_000,
    )
