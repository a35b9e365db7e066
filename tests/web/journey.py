"""A kitchen with a budget period, a cooperative's rice on offer, and a person of the
kitchen who signs in to the pages (set up through the API and the accounts services)."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from tests.builders.catalog import create_listing, create_product
from tests.builders.orders import PlacedOrder, order_body, placed_order
from tests.support import Actor, Actors, local_today
from tests.web.people import member


class Journey(msgspec.Struct, frozen=True):
    kitchen: Actor
    cooperative: Actor
    product_id: str
    product_name: str
    phone: str
    listing_id: str


async def kitchen_journey(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    factory: async_sessionmaker[AsyncSession],
    *,
    role: Role = Role.BUYER,
    portions_per_day: int = 100,
) -> Journey:
    platform = await actors.platform_admin()
    kitchen = await actors.org("kitchen", "buyer", name="SPPG Perjalanan Uji")
    cooperative = await actors.org("cooperative", "seller", name="Koperasi Merah Putih Uji")
    name = f"Beras Medium Uji {uuid.uuid4().hex[:6]}"
    product = await create_product(client, platform, name=name)
    listing = await create_listing(
        client, cooperative, product["id"], tiers=[(1, 65_000), (10, 62_500)]
    )
    answer = await client.post(
        f"/v1/kitchens/{kitchen.organization_id}/budget-periods",
        json={
            "start_date": local_today().isoformat(),
            "portions_per_day": portions_per_day,
            "rupiah_per_portion": 10000,
        },
        headers=kitchen.headers,
    )
    assert answer.status_code == 201, answer.text
    phone = await member(factory, kitchen.organization_id, role=role, name="Bu Ratna")
    return Journey(
        kitchen=kitchen,
        cooperative=cooperative,
        product_id=product["id"],
        product_name=name,
        phone=phone,
        listing_id=listing["id"],
    )


async def shipped_order(
    client: AsyncTestClient[Litestar], journey: Journey, quantity: int
) -> PlacedOrder:
    """An order of the kitchen for tomorrow (through the API), its one leg shipped."""
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    order = await placed_order(
        client,
        journey.kitchen,
        order_body(
            [(journey.product_id, quantity)],
            date=tomorrow,
            region_code=journey.kitchen.region_code,
            address="Jl. Terima 1",
        ),
    )
    for leg in order.legs:
        shipped = await client.post(f"/v1/legs/{leg.id}/ship", headers=journey.cooperative.headers)
        assert shipped.status_code == 200, shipped.text
    return order
