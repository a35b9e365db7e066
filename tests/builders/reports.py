"""A city of known figures for the reports: two cooperatives of one (made-up) city, their
buyers, consignors and Bulog branch, with sales placed, shipped and delivered through the
API and then dated into the months the test is about."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.consignment import sales as consignment_sales
from marketplace.db import unit_of_work
from marketplace.orders.domain.events import OrderLegDelivered
from marketplace.reports.figures_repository import FiguresRepository
from tests.builders import orders
from tests.builders.catalog import (
    Product,
    new_eggs_product,
    new_listing,
    new_oil_product,
    new_product,
)
from tests.builders.consignment import new_agreement, received_intake
from tests.builders.documents import deliver, ship
from tests.builders.procurement import contract_body, create_contract
from tests.support import Actor, Actors

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def utc(text_: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_).replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class City:
    code: str
    admin: Actor
    office: Actor
    coop_a: Actor
    coop_b: Actor
    outsider: Actor
    kitchen: Actor
    stall: Actor
    kitchen_b: Actor
    rice: Product


async def city(actors: Actors, client: AsyncTestClient[Litestar]) -> City:
    # A province code no real region has (Indonesia's run 11-96 with gaps; 19xx is free),
    # and a city of it per test: no other test's cooperative is in it.
    code = f"{random.randint(20, 29)}.{random.randint(10, 99)}"
    admin = await actors.platform_admin()
    office = await actors.org("government", "viewer", region_code=code, city="Kota Uji")
    granted = await client.post(
        f"/v1/organizations/{office.organization_id}/oversight",
        json={"region_prefix": code},
        headers=admin.headers,
    )
    assert granted.status_code == 201, granted.text
    return City(
        code=code,
        admin=admin,
        office=office,
        coop_a=await actors.org("cooperative", "admin", region_code=f"{code}.01.1001"),
        coop_b=await actors.org("cooperative", "admin", region_code=f"{code}.02.1001"),
        outsider=await actors.org("cooperative", "admin", region_code="19.01.01.1001"),
        kitchen=await actors.org("kitchen", "buyer", region_code=f"{code}.01.1002"),
        stall=await actors.org("food_stall", "buyer", region_code=f"{code}.01.1003"),
        kitchen_b=await actors.org("kitchen", "buyer", region_code=f"{code}.02.1002"),
        rice=await new_product(client, admin, price_caps=[], bulog_supplied=False),
    )


async def sold(
    client: AsyncTestClient[Litestar],
    buyer: Actor,
    seller: Actor,
    listing_id: str,
    product: Product,
    quantity: int,
    received: int,
) -> str:
    """An order of one pinned line, shipped and received (`received` of `quantity`): its leg."""
    body = orders.order_body(
        [(product, quantity)], date=TOMORROW, region_code=buyer.region_code, pins={1: listing_id}
    )
    placed = await orders.placed_order(client, buyer, body)
    [leg] = placed.legs
    await ship(client, seller, leg.id)
    await deliver(client, buyer, leg.id, received)
    return leg.id


async def consigned(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    coop: Actor,
    consignor_region: str,
    unit_price: int,
) -> tuple[Product, str]:
    """A UMKM of `consignor_region` placing oil at `coop` (10 % commission): the listing."""
    umkm = await actors.org("umkm", "seller", region_code=consignor_region)
    oil = await new_oil_product(client, (await actors.platform_admin()), price_caps=[])
    agreement = await new_agreement(client, coop, umkm, bps=1000)
    intake = await received_intake(client, coop, agreement, oil, quantity=20, unit_price=unit_price)
    assert intake.listing_id is not None
    return oil, intake.listing_id


async def record_consignment_sales(factory: async_sessionmaker[AsyncSession]) -> None:
    """What the worker does on a delivered consignment leg: the consignment sale."""
    handlers = outbox.EventHandlers()
    handlers.register(OrderLegDelivered, consignment_sales.on_leg_delivered)
    async with factory() as session:
        ids = list(
            await session.scalars(
                select(outbox.OutboxEvent.id).where(
                    outbox.OutboxEvent.topic == "order.leg.delivered",
                    outbox.OutboxEvent.handled_at.is_(None),
                )
            )
        )
    for event_id in ids:
        async with unit_of_work(factory) as uow:
            await outbox.handle_event(uow, event_id, handlers)


async def bulog_purchase(
    client: AsyncTestClient[Litestar], actors: Actors, c: City
) -> tuple[int, str]:
    """The cooperative A closes a Bulog lot (its branch is in the city): the purchase
    order's total and the lot's id."""
    await actors.org("bulog", "seller", region_code=f"{c.code}.01.1009")
    rice = await new_product(client, c.admin, price_caps=[])
    listing = await new_listing(
        client, c.coop_a, rice, tiers=[(1, 62_000)], stock=0, supply_mode="bulog_lot"
    )
    body = orders.order_body(
        [(rice, 10)], date=TOMORROW, region_code=c.kitchen.region_code, pins={1: listing.id}
    )
    await orders.placed_order(client, c.kitchen, body)
    page = (
        await client.get("/v1/procurement/bulog-lots?status=open", headers=c.coop_a.headers)
    ).json()
    [lot] = [lot for lot in page["items"] if lot["product_id"] == rice.id]
    submitted = await client.post(
        f"/v1/procurement/bulog-lots/{lot['id']}/submit", headers=c.coop_a.headers
    )
    assert submitted.status_code == 200, submitted.text
    answer: dict[str, Any] = submitted.json()
    return answer["order_quantity"] * answer["unit_price"], lot["id"]


async def trade_shipment(
    client: AsyncTestClient[Litestar], actors: Actors, c: City
) -> tuple[str, dict[str, Any]]:
    """Cooperative A ships 5 trays at Rp55.000 under a trade contract (levy 1.5 %): the
    shipment's id and answer."""
    trade_center = await actors.org("trade_center", "admin", region_code=f"{c.code}.01.1010")
    counterparty = await actors.org("government", "admin", region_code="19.03.01.1001")
    eggs = await new_eggs_product(client, c.admin)
    today = dt.date.today()
    contract = await create_contract(
        client,
        trade_center,
        contract_body(
            eggs.id,
            counterparty,
            [(c.coop_a, 100)],
            start_date=today - dt.timedelta(days=1),
            end_date=today + dt.timedelta(days=60),
        ),
    )
    [allotment] = contract["allotments"]
    shipped = await client.post(
        f"/v1/procurement/trade-contracts/{contract['id']}/shipments",
        json={"allotment_id": allotment["id"], "quantity": 5, "shipped_on": TOMORROW},
        headers={**c.coop_a.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert shipped.status_code == 201, shipped.text
    answer: dict[str, Any] = shipped.json()
    return answer["id"], answer


async def date_rows(
    factory: async_sessionmaker[AsyncSession],
    table: str,
    column: str,
    key: str,
    ids: dict[str, dt.datetime],
) -> None:
    """Move the rows' timestamps into the months the test reports on (past the triggers
    that keep settlement records unchanged: this is the test arranging time, not a change;
    so the roll-up's triggers don't see it either, and the cooperatives' roll-up is rebuilt
    from the moved rows, as the migration's back-fill would)."""
    async with factory() as session:
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        coops: set[uuid.UUID] = set()
        for row_id, at in ids.items():
            done = await session.execute(
                text(f"UPDATE {table} SET {column} = :at WHERE {key} = :id"),
                {"at": at, "id": uuid.UUID(row_id)},
            )
            assert done.rowcount == 1, (table, row_id)  # type: ignore[attr-defined]
            coops.add(await session.scalar(text(COOPERATIVE_OF[table]), {"id": uuid.UUID(row_id)}))
        await FiguresRepository(session).rebuild(sorted(coops))
        await session.commit()


# Whose figures a moved row is part of.
COOPERATIVE_OF = {
    "order_legs": "SELECT supplier_organization_id FROM order_legs WHERE id = :id",
    "consignment_sales": "SELECT cooperative_id FROM consignment_sales WHERE leg_id = :id",
    "bulog_purchase_orders": "SELECT cooperative_organization_id FROM bulog_purchase_orders "
    "WHERE lot_id = :id",
    "trade_shipments": "SELECT a.supplier_organization_id FROM trade_shipments t "
    "JOIN trade_allotments a ON a.id = t.allotment_id WHERE t.id = :id",
}


async def known_month(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    factory: async_sessionmaker[AsyncSession],
) -> tuple[City, int]:
    c = await city(actors, client)
    rice_a = await new_listing(client, c.coop_a, c.rice, tiers=[(1, 60_000)], stock=100)
    rice_b = await new_listing(client, c.coop_b, c.rice, tiers=[(1, 50_000)], stock=100)
    local_oil, local_listing = await consigned(
        client, actors, c.coop_a, f"{c.code}.01.1004", 20_000
    )
    far_oil, far_listing = await consigned(client, actors, c.coop_a, "19.02.01.1001", 30_000)
    legs = {
        # 1 March 01:30 in Jakarta (still February in UTC): March.
        await sold(client, c.kitchen, c.coop_a, rice_a.id, c.rice, 10, 10): utc("2026-02-28T18:30"),
        # Ordered 5, received 4: 4 sell. 31 March 23:00 in Jakarta.
        await sold(client, c.stall, c.coop_a, rice_a.id, c.rice, 5, 4): utc("2026-03-31T16:00"),
        # A year before.
        await sold(client, c.kitchen, c.coop_a, rice_a.id, c.rice, 2, 2): utc("2025-03-10T03:00"),
        await sold(client, c.kitchen_b, c.coop_b, rice_b.id, c.rice, 3, 3): utc("2026-03-05T03:00"),
        # 1 April 00:30 in Jakarta, still 31 March in UTC: April, not in the report.
        await sold(client, c.kitchen_b, c.coop_b, rice_b.id, c.rice, 1, 1): utc("2026-03-31T17:30"),
    }
    local_leg = await sold(client, c.kitchen, c.coop_a, local_listing, local_oil, 5, 5)
    far_leg = await sold(client, c.stall, c.coop_a, far_listing, far_oil, 2, 2)
    consignment = {local_leg: utc("2026-03-12T03:00"), far_leg: utc("2026-03-13T03:00")}
    await record_consignment_sales(factory)
    await date_rows(factory, "order_legs", "delivered_at", "id", legs | consignment)
    await date_rows(factory, "consignment_sales", "sold_at", "leg_id", consignment)
    bulog_total, lot_id = await bulog_purchase(client, actors, c)
    await date_rows(
        factory, "bulog_purchase_orders", "created_at", "lot_id", {lot_id: utc("2026-03-20T03:00")}
    )
    shipment_id, _shipment = await trade_shipment(client, actors, c)
    await date_rows(
        factory, "trade_shipments", "created_at", "id", {shipment_id: utc("2026-03-25T03:00")}
    )
    return c, bulog_total
