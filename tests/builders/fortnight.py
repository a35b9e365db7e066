"""A kitchen's known fortnight for the two-weekly report's tests: four suppliers (a local
and an out-of-town cooperative, a local and an out-of-town UMKM), a budget period from
tomorrow, deliveries on four days of it (one short), a leg shipped but not received, and
a delivery after the fortnight; and the report's figures computed from them by hand."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from litestar import Litestar
from litestar.testing import AsyncTestClient

from marketplace import tax
from tests.builders.catalog import create_listing, new_oil_product, new_product
from tests.builders.documents import deliver, ship
from tests.builders.orders import placed_order
from tests.support import Actor, Actors, local_today

KITCHEN_REGION = "35.76.02.1005"  # Kota Mojokerto
PORTIONS = 200
RUPIAH_PER_PORTION = 10_000
OPERATING_DAYS = 10


@dataclass(frozen=True)
class Supplier:
    actor: Actor
    name: str
    product_id: str
    product_name: str
    price: int
    vat_treatment: str


@dataclass
class Fortnight:
    kitchen: Actor
    kitchen_name: str
    period_id: str
    start: dt.date
    end: dt.date
    envelope: int
    suppliers: dict[str, Supplier]
    # (leg id, supplier key, delivery date, received quantity, amount): what was received.
    delivered: list[tuple[str, str, dt.date, int, int]] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    not_received: list[str] = field(default_factory=list)

    def amount(self, key: str) -> int:
        return sum(a for _leg, k, _day, _q, a in self.delivered if k == key)

    @property
    def spent(self) -> int:
        return sum(a for *_rest, a in self.delivered)


def _operating_days(start: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = start
    while len(days) < count:
        if day.weekday() != 6:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def received_amount(supplier: Supplier, quantity: int) -> int:
    subtotal = quantity * supplier.price
    return subtotal + tax.vat_for(subtotal, tax.VatTreatment(supplier.vat_treatment))


async def fortnight(client: AsyncTestClient[Litestar], actors: Actors) -> Fortnight:
    suffix = uuid.uuid4().hex[:6]
    admin = await actors.platform_admin()
    kitchen_name = f"SPPG Laporan {suffix}"
    kitchen = await actors.org("kitchen", "buyer", name=kitchen_name, region_code=KITCHEN_REGION)
    plan = {
        "coop": ("cooperative", "35.76.01.1001", f"KKMP Blooto {suffix}", 62_500, False),
        "coop_far": ("cooperative", "35.72.03.1002", f"KKMP Sukorejo {suffix}", 20_000, True),
        "umkm": ("umkm", "35.76.02.1003", f"UMKM Telur Jagalan {suffix}", 1_800, False),
        "umkm_far": ("umkm", "35.15.04.1004", f"UMKM Sayur Sidoarjo {suffix}", 9_000, False),
    }
    suppliers: dict[str, Supplier] = {}
    for key, (kind, region, name, price, oil) in plan.items():
        actor = await actors.org(kind, "seller", name=name, region_code=region)
        product_name = f"Barang {key} {suffix}"
        make = new_oil_product if oil else new_product
        product = await make(
            client, admin, name=product_name, **({"price_caps": []} if oil else {})
        )
        await create_listing(client, actor, product.id, tiers=[(1, price)], stock=10_000)
        suppliers[key] = Supplier(
            actor=actor,
            name=name,
            product_id=product.id,
            product_name=product_name,
            price=price,
            vat_treatment="standard" if oil else "exempt",
        )
    start = local_today() + dt.timedelta(days=1)
    answer = await client.post(
        f"/v1/kitchens/{kitchen.organization_id}/budget-periods",
        json={
            "start_date": start.isoformat(),
            "operating_days": OPERATING_DAYS,
            "portions_per_day": PORTIONS,
            "rupiah_per_portion": RUPIAH_PER_PORTION,
        },
        headers=kitchen.headers,
    )
    assert answer.status_code == 201, answer.text
    period = answer.json()
    end = dt.date.fromisoformat(period["end_date"])
    world = Fortnight(
        kitchen=kitchen,
        kitchen_name=kitchen_name,
        period_id=period["id"],
        start=start,
        end=end,
        envelope=period["envelope"],
        suppliers=suppliers,
    )
    days = _operating_days(start, OPERATING_DAYS)
    # (day index, [(supplier, ordered, received)]); None received: shipped, not received.
    schedule: list[tuple[int, list[tuple[str, int, int | None]]]] = [
        (0, [("coop", 10, 10), ("umkm", 300, 300)]),
        (2, [("coop_far", 12, 12), ("umkm_far", 7, 7)]),
        (4, [("coop", 4, 3), ("umkm_far", 2, None)]),
        (OPERATING_DAYS - 1, [("umkm", 100, 100)]),
    ]
    for index, lines in schedule:
        await _order(client, world, days[index], lines)
    after = end + dt.timedelta(days=2)
    before = len(world.delivered)
    await _order(client, world, after, [("coop_far", 1, 1)])
    world.outside = [leg for leg, *_ in world.delivered[before:]]
    world.delivered = world.delivered[:before]
    return world


async def _order(
    client: AsyncTestClient[Litestar],
    world: Fortnight,
    day: dt.date,
    lines: list[tuple[str, int, int | None]],
) -> None:
    body = {
        "lines": [
            {"product_id": world.suppliers[k].product_id, "quantity": q} for k, q, _r in lines
        ],
        "delivery": {"date": day.isoformat(), "region_code": KITCHEN_REGION, "address": "Dapur"},
    }
    order = await placed_order(client, world.kitchen, body)
    for key, _quantity, received in lines:
        supplier = world.suppliers[key]
        [leg] = [leg for leg in order.legs if leg.product_id == supplier.product_id]
        await ship(client, supplier.actor, leg.id)
        if received is None:
            world.not_received.append(leg.id)
            continue
        await deliver(client, world.kitchen, leg.id, received)
        world.delivered.append((leg.id, key, day, received, received_amount(supplier, received)))
