"""A cooperative holding a UMKM's goods on consignment, a kitchen of the same village, and a
person of each who signs in to the pages (set up through the API and the accounts services)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from tests.builders.catalog import create_product
from tests.builders.consignment import new_agreement
from tests.support import Actor, Actors
from tests.web.people import member

VILLAGE = "35.76.02.1005"
PRICE_CAP = 30_000


class Desk(msgspec.Struct, frozen=True):
    admin: Actor
    coop: Actor
    umkm: Actor
    kitchen: Actor
    agreement_id: str
    product_id: str
    product_name: str
    clerk_phone: str
    owner_phone: str
    kitchen_phone: str


async def desk(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    factory: async_sessionmaker[AsyncSession],
    *,
    clerk_role: Role = Role.ADMIN,
) -> Desk:
    admin = await actors.platform_admin()
    coop = await actors.org("cooperative", "admin", region_code=VILLAGE, name="Koperasi Meja Uji")
    umkm = await actors.org("umkm", "seller", region_code=VILLAGE, name="Keripik Bu Sri Uji")
    kitchen = await actors.org("kitchen", "buyer", region_code=VILLAGE, name="SPPG Meja Uji")
    name = f"Keripik Tempe Uji {uuid.uuid4().hex[:6]}"
    product = await create_product(
        client,
        admin,
        name=name,
        category="processed_food",
        unit_code="XPK",
        unit_label="bungkus",
        net_content=250,
        bulog_supplied=False,
        price_caps=[{"region_prefix": "35", "max_unit_price": PRICE_CAP}],
    )
    agreement = await new_agreement(client, coop, umkm, bps=1000)
    return Desk(
        admin=admin,
        coop=coop,
        umkm=umkm,
        kitchen=kitchen,
        agreement_id=agreement.id,
        product_id=product["id"],
        product_name=name,
        clerk_phone=await member(factory, coop.organization_id, role=clerk_role, name="Pak Joko"),
        owner_phone=await member(factory, umkm.organization_id, role=Role.SELLER, name="Bu Sri"),
        kitchen_phone=await member(factory, kitchen.organization_id, name="Bu Ratna"),
    )
