"""Single-object reads through the read pool, off the ORM, answer as the ORM path did.

`GET /v1/orders/{id}`: as `OrderService.view` and `view_out`, for the buyer, each supplier
(its own legs and their totals) and the platform; no part in the order is 404.
`GET /v1/listings/{id}`: as `ListingService.get` and `listing_out`, with the terms' ETag;
a paused listing is its seller's only. `GET /v1/products/{id}`: as `product_out`, with
its ETag and 304. `GET /v1/organizations/{id}`: as `organization_out`, the caller's own
(or any, for the platform); another is 404."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Organization, Principal
from marketplace.accounts.controller import organization_out
from marketplace.db import UnitOfWork
from marketplace.listings import ListingService, ProductService
from marketplace.listings.controller import listing_out, product_out
from marketplace.orders.controller import view_out
from marketplace.orders.service import OrderService
from tests.builders import orders
from tests.builders.catalog import create_listing, new_product
from tests.support import Actor, Actors, local_today


async def orm_answer(
    factory: async_sessionmaker[AsyncSession], actor: Actor, order_id: str
) -> object:
    principal = Principal(
        organization_id=actor.organization_id, organization_kind=actor.kind, role=actor.role
    )
    async with factory() as session:
        view = await OrderService(UnitOfWork(session)).view(principal, uuid.UUID(order_id))
        out = view_out(view, principal.organization_id, principal.is_platform)
    return msgspec.json.decode(msgspec.json.encode(out))


async def test_the_read_pool_answers_as_the_orm_did_for_every_party(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.platform_admin()
    rice = await new_product(client, admin, name=f"Beras Baca {uuid.uuid4().hex[:6]}")
    first = await actors.org("cooperative", "seller", region_code="35.76.01.1001")
    second = await actors.org("cooperative", "seller", region_code="35.76.02.1001")
    await create_listing(client, first, rice.id, tiers=[(1, 60_000)], stock=10)
    await create_listing(client, second, rice.id, tiers=[(1, 61_000)], stock=15)
    kitchen = await actors.org("kitchen", "buyer")
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    placed = await orders.placed_order(
        client, kitchen, orders.order_body([(rice, 25)], date=tomorrow, notes="Pintu belakang")
    )
    assert len(placed.legs) == 2  # 10 from the first, 15 from the second
    seen = {}
    for actor in (kitchen, first, second, admin):
        answer = await client.get(f"/v1/orders/{placed.id}", headers=actor.headers)
        assert answer.status_code == 200, answer.text
        assert answer.json() == await orm_answer(session_factory, actor, placed.id)
        seen[actor.organization_id] = answer.json()
    assert len(seen[kitchen.organization_id]["legs"]) == 2
    supplier = seen[first.organization_id]
    assert [leg["supplier_organization_id"] for leg in supplier["legs"]] == [
        str(first.organization_id)
    ]
    assert supplier["subtotal"] == 10 * 60_000
    stranger = await actors.org("cooperative", "seller")
    hidden = await client.get(f"/v1/orders/{placed.id}", headers=stranger.headers)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"
    missing = await client.get(f"/v1/orders/{uuid.uuid4()}", headers=kitchen.headers)
    assert missing.status_code == 404


async def test_a_listing_reads_off_the_orm_as_the_orm_answered(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.platform_admin()
    rice = await new_product(client, admin, name=f"Beras Satu {uuid.uuid4().hex[:6]}")
    seller = await actors.org("cooperative", "seller", region_code="35.76.01.1001")
    made = await create_listing(client, seller, rice.id, tiers=[(1, 60_000), (10, 58_000)])
    kitchen = await actors.org("kitchen", "buyer")
    async with session_factory() as session:
        listing, product = await ListingService(UnitOfWork(session)).get(
            Principal(
                organization_id=seller.organization_id,
                organization_kind=seller.kind,
                role=seller.role,
            ),
            uuid.UUID(made["id"]),
        )
        expected = msgspec.json.decode(msgspec.json.encode(listing_out(listing, product)))
        version = listing.version
    for actor in (kitchen, seller):
        answer = await client.get(f"/v1/listings/{made['id']}", headers=actor.headers)
        assert answer.status_code == 200
        assert answer.json() == expected
        assert answer.headers["etag"] == f'"{version}"'
    paused = await client.patch(
        f"/v1/listings/{made['id']}", json={"status": "paused"}, headers=seller.headers
    )
    assert paused.status_code == 200, paused.text
    assert (await client.get(f"/v1/listings/{made['id']}", headers=seller.headers)).json()[
        "status"
    ] == "paused"
    hidden = await client.get(f"/v1/listings/{made['id']}", headers=kitchen.headers)
    assert hidden.status_code == 404


async def test_a_product_reads_off_the_orm_as_the_orm_answered(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.platform_admin()
    made = await new_product(client, admin, name=f"Minyak Satu {uuid.uuid4().hex[:6]}")
    kitchen = await actors.org("kitchen", "buyer")
    async with session_factory() as session:
        product = await ProductService(UnitOfWork(session)).get(uuid.UUID(made.id))
        expected = msgspec.json.decode(msgspec.json.encode(product_out(product)))
        assert expected["price_caps"], "the builder's product has caps: their decoding is read"
        tag = f'"{product.version}"'
    answer = await client.get(f"/v1/products/{made.id}", headers=kitchen.headers)
    assert answer.status_code == 200
    assert answer.json() == expected
    assert answer.headers["etag"] == tag
    again = await client.get(
        f"/v1/products/{made.id}", headers={**kitchen.headers, "If-None-Match": tag}
    )
    assert again.status_code == 304
    missing = await client.get(f"/v1/products/{uuid.uuid4()}", headers=kitchen.headers)
    assert missing.status_code == 404


async def test_an_organization_reads_off_the_orm_as_the_orm_answered(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen", "admin")
    other = await actors.org("kitchen", "admin")
    admin = await actors.platform_admin()
    async with session_factory() as session:
        found = await session.get(Organization, kitchen.organization_id)
        assert found is not None
        expected = msgspec.json.decode(msgspec.json.encode(organization_out(found)))
        tag = f'"{found.version}"'
    for actor in (kitchen, admin):
        answer = await client.get(
            f"/v1/organizations/{kitchen.organization_id}", headers=actor.headers
        )
        assert answer.status_code == 200
        assert answer.json() == expected
        assert answer.headers["etag"] == tag
    again = await client.get(
        f"/v1/organizations/{kitchen.organization_id}",
        headers={**kitchen.headers, "If-None-Match": tag},
    )
    assert again.status_code == 304
    hidden = await client.get(f"/v1/organizations/{kitchen.organization_id}", headers=other.headers)
    assert hidden.status_code == 404
