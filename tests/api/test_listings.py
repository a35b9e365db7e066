"""Listings: products, tiers, caps, stock movements, search, feed, authorization."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.catalog import create_listing, create_product, product_body
from tests.support import Actor, Actors, assert_problem


@pytest.fixture
async def admin(actors: Actors) -> Actor:
    return await actors.platform_admin()


@pytest.fixture
async def coop(actors: Actors) -> Actor:
    return await actors.org("cooperative", "seller", region_code="35.76.02.1003")


async def test_products_default_vat_by_category_and_reject_bad_input(
    client: AsyncTestClient[Litestar], admin: Actor, coop: Actor
) -> None:
    rice = await create_product(client, admin)
    assert rice["vat_treatment"] == "exempt"
    oil = await create_product(
        client,
        admin,
        category="oil",
        name="Minyakita 1 L",
        unit_code="XBO",
        sku=f"MK-{uuid.uuid4().hex[:6]}",
    )
    assert oil["vat_treatment"] == "standard"
    for bad, status in [
        ({"category": "gold"}, 400),
        ({"unit_code": "XXX"}, 400),
        ({"net_content": 0}, 400),
        ({"price_caps": [{"region_prefix": "Java", "max_unit_price": 1}]}, 400),
        ({"extra": 1}, 400),
    ]:
        assert_problem(
            await client.post("/v1/products", json=product_body(**bad), headers=admin.headers),
            status,
        )
    dup = await client.post(
        "/v1/products", json=product_body(sku=rice["sku"]), headers=admin.headers
    )
    assert_problem(dup, 409, "listings.sku_taken")
    # Only the platform curates the catalogue.
    assert_problem(
        await client.post("/v1/products", json=product_body(), headers=coop.headers),
        403,
        "auth.forbidden",
    )


async def test_listing_tiers_are_validated(
    client: AsyncTestClient[Litestar], admin: Actor, coop: Actor
) -> None:
    product = await create_product(client, admin)
    bad_tiers = [
        [{"min_quantity": 5, "unit_price": 60_000}],  # must start at 1
        [{"min_quantity": 1, "unit_price": 60_000}, {"min_quantity": 1, "unit_price": 59_000}],
        [{"min_quantity": 1, "unit_price": 60_000}, {"min_quantity": 10, "unit_price": 61_000}],
    ]
    for tiers in bad_tiers:
        response = await client.post(
            "/v1/listings",
            json={"product_id": product["id"], "price_tiers": tiers},
            headers=coop.headers,
        )
        assert_problem(response, 422, "listings.invalid_price_tiers")
    assert_problem(
        await client.post(
            "/v1/listings",
            json={"product_id": product["id"], "price_tiers": []},
            headers=coop.headers,
        ),
        400,
    )
    page = await client.get(
        "/v1/listings", params={"product_id": product["id"]}, headers=coop.headers
    )
    assert page.json()["items"] == []


async def test_price_above_zone_cap_is_refused_with_the_cap(
    client: AsyncTestClient[Litestar], admin: Actor, coop: Actor
) -> None:
    sphp = await create_product(
        client,
        admin,
        name="Beras SPHP 5 kg",
        programme="sphp",
        price_caps=[
            {"region_prefix": "35", "max_unit_price": 62_500},
            {"region_prefix": "91", "max_unit_price": 67_500},
        ],
    )
    response = await client.post(
        "/v1/listings",
        json={"product_id": sphp["id"], "price_tiers": [{"min_quantity": 1, "unit_price": 63_000}]},
        headers=coop.headers,
    )
    body = assert_problem(response, 422, "listings.price_above_cap")
    assert body["extra"]["cap"] == 62_500
    listing = await create_listing(client, coop, sphp["id"], tiers=[(1, 62_500)])
    patch = await client.patch(
        f"/v1/listings/{listing['id']}",
        json={"price_tiers": [{"min_quantity": 1, "unit_price": 70_000}]},
        headers=coop.headers,
    )
    assert_problem(patch, 422, "listings.price_above_cap")
    after = await client.get(f"/v1/listings/{listing['id']}", headers=coop.headers)
    assert after.json()["unit_price"] == 62_500


async def test_stock_movements_never_go_negative_and_are_logged(
    client: AsyncTestClient[Litestar], admin: Actor, coop: Actor
) -> None:
    product = await create_product(client, admin)
    listing = await create_listing(client, coop, product["id"], stock=10)
    url = f"/v1/listings/{listing['id']}/stock-movements"
    ok = await client.post(url, json={"kind": "receive", "quantity": 5}, headers=coop.headers)
    assert ok.status_code == 201, ok.text
    assert ok.json()["on_hand_after"] == 15
    too_much = await client.post(
        url, json={"kind": "adjust", "quantity": -16, "reason": "count"}, headers=coop.headers
    )
    body = assert_problem(too_much, 422, "listings.insufficient_stock")
    assert body["extra"]["on_hand"] == 15
    no_reason = await client.post(
        url, json={"kind": "adjust", "quantity": -1}, headers=coop.headers
    )
    assert_problem(no_reason, 422, "listings.invalid_stock_movement")
    for bad in [{"kind": "ship", "quantity": 1}, {"kind": "receive", "quantity": 0}]:
        assert_problem(
            await client.post(url, json=bad, headers=coop.headers),
            400 if bad["kind"] == "ship" else 422,
        )
    damaged = await client.post(
        url, json={"kind": "adjust", "quantity": -3, "reason": "karung sobek"}, headers=coop.headers
    )
    assert damaged.json()["on_hand_after"] == 12
    history = (await client.get(url, headers=coop.headers)).json()["items"]
    assert [(m["kind"], m["on_hand_delta"]) for m in history] == [
        ("receive", 10),
        ("receive", 5),
        ("adjust", -3),
    ]
    assert history[-1]["reason"] == "karung sobek"
    assert history[-1]["actor_organization_id"] == str(coop.organization_id)
    assert (await client.get(f"/v1/listings/{listing['id']}", headers=coop.headers)).json()[
        "on_hand"
    ] == 12


async def test_concurrent_stock_movements_lose_nothing(
    client: AsyncTestClient[Litestar], admin: Actor, coop: Actor
) -> None:
    product = await create_product(client, admin)
    listing = await create_listing(client, coop, product["id"], stock=20)
    url = f"/v1/listings/{listing['id']}/stock-movements"

    async def move(i: int) -> Any:
        if i % 2:
            return await client.post(
                url, json={"kind": "receive", "quantity": 3}, headers=coop.headers
            )
        return await client.post(
            url, json={"kind": "adjust", "quantity": -2, "reason": "count"}, headers=coop.headers
        )

    results = await asyncio.gather(*(move(i) for i in range(40)))
    assert all(r.status_code == 201 for r in results), [
        r.text for r in results if r.status_code != 201
    ]
    final = (await client.get(f"/v1/listings/{listing['id']}", headers=coop.headers)).json()
    assert final["on_hand"] == 20 + 20 * 3 - 20 * 2
    afters = sorted(r.json()["on_hand_after"] for r in results)
    assert len(set(afters)) == len(afters) or final["on_hand"] == 40


async def test_concurrent_withdrawals_never_oversell(
    client: AsyncTestClient[Litestar], admin: Actor, coop: Actor
) -> None:
    product = await create_product(client, admin)
    listing = await create_listing(client, coop, product["id"], stock=10)
    url = f"/v1/listings/{listing['id']}/stock-movements"
    results = await asyncio.gather(
        *(
            client.post(
                url,
                json={"kind": "adjust", "quantity": -1, "reason": "sold at till"},
                headers=coop.headers,
            )
            for _ in range(30)
        )
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 10
    assert statuses.count(422) == 20
    final = (await client.get(f"/v1/listings/{listing['id']}", headers=coop.headers)).json()
    assert final["on_hand"] == 0


async def test_only_the_seller_changes_a_listing(
    client: AsyncTestClient[Litestar], actors: Actors, admin: Actor, coop: Actor
) -> None:
    product = await create_product(client, admin)
    listing = await create_listing(client, coop, product["id"])
    other = await actors.org("cooperative", "seller")
    kitchen = await actors.org("kitchen", "buyer")
    for stranger in (other, kitchen):
        assert_problem(
            await client.patch(
                f"/v1/listings/{listing['id']}", json={"status": "paused"}, headers=stranger.headers
            ),
            404,
        )
        assert_problem(
            await client.post(
                f"/v1/listings/{listing['id']}/stock-movements",
                json={"kind": "receive", "quantity": 1},
                headers=stranger.headers,
            ),
            404,
        )
        assert_problem(
            await client.get(
                f"/v1/listings/{listing['id']}/stock-movements", headers=stranger.headers
            ),
            404,
        )
    viewer = await actors.key_for(coop, "viewer")
    assert_problem(
        await client.patch(
            f"/v1/listings/{listing['id']}", json={"status": "paused"}, headers=viewer.headers
        ),
        403,
    )
    # A kitchen can't list supply at all.
    kitchen_admin = await actors.key_for(kitchen, "admin")
    assert_problem(
        await client.post(
            "/v1/listings",
            json={
                "product_id": product["id"],
                "price_tiers": [{"min_quantity": 1, "unit_price": 1}],
            },
            headers=kitchen_admin.headers,
        ),
        403,
    )
    # The platform may change it; paused listings vanish for others.
    paused = await client.patch(
        f"/v1/listings/{listing['id']}", json={"status": "paused"}, headers=admin.headers
    )
    assert paused.json()["status"] == "paused"
    assert_problem(await client.get(f"/v1/listings/{listing['id']}", headers=kitchen.headers), 404)
    assert (
        await client.get(f"/v1/listings/{listing['id']}", headers=coop.headers)
    ).status_code == 200


async def seed_search(
    client: AsyncTestClient[Litestar], actors: Actors, admin: Actor
) -> tuple[str, dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    eggs = await create_product(
        client,
        admin,
        sku=f"TLR-{tag}",
        name=f"Telur Ayam Ras {tag} (tray 30)",
        category="eggs",
        unit_code="XPU",
        unit_label="tray 30 butir",
        net_content=30,
        net_content_unit="H87",
        price_caps=[],
        bulog_supplied=False,
    )
    oil = await create_product(
        client,
        admin,
        sku=f"MG-{tag}",
        name=f"Minyak Goreng Minyakita {tag} 1 L",
        category="oil",
        unit_code="XBO",
        unit_label="botol 1 L",
        net_content=1000,
        net_content_unit="MLT",
        price_caps=[{"region_prefix": "35", "max_unit_price": 15_700}],
    )
    sellers = {
        "mojo_magersari": await actors.org("cooperative", "seller", region_code="35.76.02.1001"),
        "mojo_kranggan": await actors.org("cooperative", "seller", region_code="35.76.03.1002"),
        "blitar": await actors.org("cooperative", "seller", region_code="35.72.01.1004"),
        "umkm": await actors.org("umkm", "seller", region_code="35.76.02.1005"),
    }
    listings = {
        "eggs_magersari": await create_listing(
            client, sellers["mojo_magersari"], eggs["id"], tiers=[(1, 54_000)], stock=40
        ),
        "eggs_kranggan": await create_listing(
            client, sellers["mojo_kranggan"], eggs["id"], tiers=[(1, 52_000)], stock=0
        ),
        "eggs_blitar": await create_listing(
            client, sellers["blitar"], eggs["id"], tiers=[(1, 50_000)], stock=500
        ),
        "eggs_umkm": await create_listing(
            client, sellers["umkm"], eggs["id"], tiers=[(1, 55_000)], stock=12
        ),
        "oil_magersari": await create_listing(
            client, sellers["mojo_magersari"], oil["id"], tiers=[(1, 15_500)], stock=120
        ),
    }
    return tag, {"eggs": eggs, "oil": oil, **listings}


async def search_all(
    client: AsyncTestClient[Litestar], who: Actor, **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {k: v for k, v in params.items() if v is not None}
        if cursor:
            query["cursor"] = cursor
        response = await client.get("/v1/listings", params=query, headers=who.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def test_a_search_item_is_the_listing_as_get_shows_it(
    client: AsyncTestClient[Litestar], actors: Actors, admin: Actor
) -> None:
    """Search builds its items from plain rows by position; they must be field for field
    what `GET /v1/listings/{id}` answers (a reordered schema field would show here)."""
    _, seeded = await seed_search(client, actors, admin)
    kitchen = await actors.org("kitchen", "buyer")
    for product in ("eggs", "oil"):
        items = await search_all(client, kitchen, product_id=seeded[product]["id"])
        assert items
        for item in items:
            one = await client.get(f"/v1/listings/{item['id']}", headers=kitchen.headers)
            assert one.status_code == 200, one.text
            assert item == one.json()
            assert list(item) == list(one.json())  # the same key order too
            assert list(item["product"]) == list(one.json()["product"])


async def test_search_filters(
    client: AsyncTestClient[Litestar], actors: Actors, admin: Actor
) -> None:
    tag, seeded = await seed_search(client, actors, admin)
    kitchen = await actors.org("kitchen", "buyer")
    eggs = seeded["eggs"]["id"]

    def ids(items: list[dict[str, Any]]) -> list[str]:
        return [i["id"] for i in items]

    by_product = await search_all(client, kitchen, product_id=eggs)
    assert ids(by_product) == [
        seeded[k]["id"] for k in ("eggs_blitar", "eggs_kranggan", "eggs_magersari", "eggs_umkm")
    ], "ordered by unit price, then id"
    in_mojokerto = await search_all(client, kitchen, product_id=eggs, region="35.76")
    assert {i["region_code"][:5] for i in in_mojokerto} == {"35.76"}
    assert len(in_mojokerto) == 3
    in_district = await search_all(client, kitchen, product_id=eggs, region="35.76.02")
    assert len(in_district) == 2
    in_stock = await search_all(client, kitchen, product_id=eggs, in_stock=True)
    assert seeded["eggs_kranggan"]["id"] not in ids(in_stock)
    umkm_only = await search_all(client, kitchen, product_id=eggs, seller_kind="umkm")
    assert ids(umkm_only) == [seeded["eggs_umkm"]["id"]]
    cheap = await search_all(client, kitchen, product_id=eggs, max_unit_price=52_000)
    assert ids(cheap) == [seeded["eggs_blitar"]["id"], seeded["eggs_kranggan"]["id"]]
    by_category = await search_all(client, kitchen, category="oil", q=tag)
    assert ids(by_category) == [seeded["oil_magersari"]["id"]]
    bad_searches: list[dict[str, str | int]] = [
        {"region": "Jawa"},
        {"max_unit_price": 0},
        {"max_unit_price": 2**63},
        {"seller_kind": "bank"},
        {"limit": 0},
    ]
    for bad in bad_searches:
        assert_problem(await client.get("/v1/listings", params=bad, headers=kitchen.headers), 400)


@pytest.mark.parametrize(
    ("typed", "expect"),
    [
        ("telur ayam", "eggs"),
        ("telor ayam", "eggs"),
        ("TELUR", "eggs"),
        ("minyak goreng", "oil"),
        ("migor", "oil"),
        ("minyakita", "oil"),
    ],
)
async def test_text_search_tolerates_spelling_variants(
    client: AsyncTestClient[Litestar], actors: Actors, admin: Actor, typed: str, expect: str
) -> None:
    tag, seeded = await seed_search(client, actors, admin)
    kitchen = await actors.org("kitchen", "buyer")
    found = await search_all(
        client, kitchen, q=f"{typed} {tag}" if expect == "x" else typed, region="35", limit=200
    )
    product_ids = {i["product"]["id"] for i in found}
    assert seeded[expect]["id"] in product_ids
    other = "oil" if expect == "eggs" else "eggs"
    assert seeded[other]["id"] not in product_ids


async def test_pagination_has_no_duplicates_or_gaps_while_inserting(
    client: AsyncTestClient[Litestar], actors: Actors, admin: Actor
) -> None:
    product = await create_product(client, admin)
    sellers = [await actors.org("cooperative", "seller") for _ in range(12)]
    prices = [60_000 + (i % 4) * 500 for i in range(12)]  # ties exercise the id tiebreak
    before = [
        (await create_listing(client, s, product["id"], tiers=[(1, p)]))["id"]
        for s, p in zip(sellers[:8], prices[:8], strict=True)
    ]
    kitchen = await actors.org("kitchen", "buyer")
    seen: list[str] = []
    cursor = None
    inserted = 0
    while True:
        params: dict[str, Any] = {"product_id": product["id"], "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/listings", params=params, headers=kitchen.headers)).json()
        seen += [i["id"] for i in page["items"]]
        if inserted < 4:  # a seller lists while the buyer pages
            await create_listing(
                client, sellers[8 + inserted], product["id"], tiers=[(1, prices[8 + inserted])]
            )
            inserted += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)), "no duplicates"
    assert set(before) <= set(seen), "no gaps among listings that existed throughout"
    assert_problem(
        await client.get("/v1/listings", params={"cursor": "abc"}, headers=kitchen.headers), 400
    )


async def test_catalog_feed_shows_cooperative_offers_with_tax_ids(
    client: AsyncTestClient[Litestar], actors: Actors, admin: Actor
) -> None:
    product = await create_product(client, admin)
    coop = await actors.org("cooperative", "seller", npwp="0357602010000001", nib="9120035760201")
    umkm = await actors.org("umkm", "seller")
    coop_listing = await create_listing(client, coop, product["id"])
    umkm_listing = await create_listing(client, umkm, product["id"])
    officer = await actors.org("government", "procurement")
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/catalog/feed", params=params, headers=officer.headers)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    by_id = {i["listing_id"]: i for i in items}
    assert umkm_listing["id"] not in by_id, "only cooperatives' offers"
    entry = by_id[coop_listing["id"]]
    assert entry["seller_npwp"] == "0357602010000001"
    assert entry["seller_nib"] == "9120035760201"
    assert entry["unit_code"] == "XSA"
    assert entry["vat_treatment"] == "exempt"
    assert entry["unit_price"] == 65_000
    assert entry["currency"] == "IDR"


async def test_a_seller_sees_its_paused_listings_others_never_do(
    client: AsyncTestClient[Litestar], actors: Actors, admin: Actor, coop: Actor
) -> None:
    product = await create_product(client, admin)
    listing = await create_listing(client, coop, product["id"], status="paused")
    kitchen = await actors.org("kitchen", "buyer")
    mine = await search_all(client, coop, seller_id=str(coop.organization_id))
    assert [i["id"] for i in mine] == [listing["id"]]
    assert await search_all(client, kitchen, seller_id=str(coop.organization_id)) == []
    assert listing["id"] not in [
        i["id"] for i in await search_all(client, coop, product_id=product["id"])
    ]
