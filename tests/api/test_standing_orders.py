"""A kitchen's standing orders: created without a date, edited, paused, resumed, deleted.

What the H-1 job then places (or not) is read through `StandingOrderService.due`, the
list the worker's schedule enqueues.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import clock
from marketplace.db import unit_of_work
from marketplace.orders.standing import StandingOrderService
from tests.catalog import create_product
from tests.support import Actor, Actors, assert_problem, local_today

REGION = "35.76.02.1005"
URL = "/v1/standing-orders"


async def due_ids(factory: async_sessionmaker[AsyncSession]) -> set[str]:
    async with unit_of_work(factory) as uow:
        return {str(i) for i, _ in await StandingOrderService(uow).due(clock.now())}


async def create(
    client: AsyncTestClient[Litestar], kitchen: Actor, product_id: str, **extra: Any
) -> dict[str, Any]:
    body = {
        "name": "Menu mingguan",
        "weekdays": {str(d): [{"product_id": product_id, "quantity": 3}] for d in range(1, 8)},
        "delivery": {"region_code": REGION, "address": "Dapur SPPG Magersari"},
        **extra,
    }
    created = await client.post(URL, json=body, headers=kitchen.headers)
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


async def test_a_standing_order_is_edited_paused_resumed_and_deleted(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.platform_admin()
    kitchen = await actors.org("kitchen", "buyer", region_code=REGION)
    product = await create_product(client, admin, price_caps=[], bulog_supplied=False)
    standing = await create(client, kitchen, product["id"])
    assert standing["active"] is True
    assert standing["recent_runs"] == []
    url = f"{URL}/{standing['id']}"
    assert standing["id"] in await due_ids(session_factory)
    tomorrow = str((local_today() + dt.timedelta(days=1)).isoweekday())

    edited = await client.patch(
        url,
        json={
            "name": "Menu H-1",
            "weekdays": {tomorrow: [{"product_id": product["id"], "quantity": 7}]},
            "delivery": {"region_code": "35.76.02.1003", "address": "Dapur baru"},
        },
        headers=kitchen.headers,
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["name"], list(body["weekdays"]), body["weekdays"][tomorrow][0]["quantity"]) == (
        "Menu H-1",
        [tomorrow],
        7,
    )
    assert (body["delivery_region_code"], body["delivery_address"]) == (
        "35.76.02.1003",
        "Dapur baru",
    )
    assert (await client.get(url, headers=kitchen.headers)).json() == body

    paused = await client.patch(url, json={"active": False}, headers=kitchen.headers)
    assert paused.json()["active"] is False
    assert paused.json()["name"] == "Menu H-1"  # only what is given changes
    assert standing["id"] not in await due_ids(session_factory)
    resumed = await client.patch(url, json={"active": True}, headers=kitchen.headers)
    assert resumed.json()["active"] is True
    assert standing["id"] in await due_ids(session_factory)

    deleted = await client.delete(url, headers=kitchen.headers)
    assert deleted.status_code == 204, deleted.text
    assert_problem(await client.get(url, headers=kitchen.headers), 404)
    assert_problem(await client.patch(url, json={"active": True}, headers=kitchen.headers), 404)
    assert_problem(await client.delete(url, headers=kitchen.headers), 404)
    listed = (await client.get(URL, headers=kitchen.headers)).json()
    assert standing["id"] not in {s["id"] for s in listed}
    assert standing["id"] not in await due_ids(session_factory)


async def test_the_deprecated_delivery_date_is_accepted_and_ignored(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    admin = await actors.platform_admin()
    kitchen = await actors.org("kitchen", "buyer", region_code=REGION)
    product = await create_product(client, admin, price_caps=[], bulog_supplied=False)
    some_day = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    standing = await create(
        client,
        kitchen,
        product["id"],
        delivery={"region_code": REGION, "address": "Dapur", "date": some_day},
    )
    assert some_day not in str(standing)


async def test_bad_edits_are_refused_and_change_nothing(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    admin = await actors.platform_admin()
    kitchen = await actors.org("kitchen", "buyer", region_code=REGION)
    product = await create_product(client, admin, price_caps=[], bulog_supplied=False)
    standing = await create(client, kitchen, product["id"])
    url = f"{URL}/{standing['id']}"
    for bad in (
        {"weekdays": {}},
        {"weekdays": {"8": [{"product_id": product["id"], "quantity": 1}]}},
        {"weekdays": {"1": [{"product_id": product["id"], "quantity": 0}]}},
        {"name": ""},
        {"active": "no"},
        {"delivery": {"region_code": "Mojokerto", "address": "x"}},
        {"delivery": {"address": "Dapur tanpa wilayah"}},
        {"id": str(uuid.uuid4())},
    ):
        assert_problem(await client.patch(url, json=bad, headers=kitchen.headers), 400)
    assert (await client.get(url, headers=kitchen.headers)).json() == standing


async def test_another_organization_cannot_see_or_change_a_standing_order(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    admin = await actors.platform_admin()
    kitchen = await actors.org("kitchen", "buyer", region_code=REGION)
    other = await actors.org("kitchen", "buyer", region_code=REGION)
    product = await create_product(client, admin, price_caps=[], bulog_supplied=False)
    standing = await create(client, kitchen, product["id"])
    url = f"{URL}/{standing['id']}"
    assert_problem(await client.get(url, headers=other.headers), 404)
    assert_problem(await client.patch(url, json={"active": False}, headers=other.headers), 404)
    assert_problem(await client.delete(url, headers=other.headers), 404)
    finance = await actors.key_for(kitchen, "finance")
    assert_problem(await client.patch(url, json={"active": False}, headers=finance.headers), 403)
    assert (await client.get(url, headers=kitchen.headers)).json()["active"] is True
