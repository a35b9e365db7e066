"""Standing orders over HTTP: made from an order, edited, paused, resumed, deleted, with
their recent runs and why a date failed."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.orders.models import StandingOrder, StandingOrderRun
from tests.builders.catalog import create_listing, create_product
from tests.support import Actors, local_today
from tests.web.journey import kitchen_journey, shipped_order
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["pages"]


async def templates_of(
    factory: async_sessionmaker[AsyncSession], buyer: uuid.UUID
) -> list[StandingOrder]:
    async with factory() as session:
        found = await session.scalars(
            select(StandingOrder).where(StandingOrder.buyer_organization_id == buyer)
        )
        return list(found)


async def test_a_kitchen_makes_a_standing_order_from_an_order_edits_pauses_and_resumes_it(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    order = await shipped_order(pages, journey, 6)
    kitchen = journey.kitchen.organization_id
    await sign_in(pages, journey.phone, PASSWORD)
    detail = await pages.get(f"/pesanan/{order.id}")
    weekday = str((local_today() + dt.timedelta(days=1)).isoweekday())
    assert f'name="day-{weekday}" value="1" checked' in detail.text
    token = token_of(detail.text)
    no_day = await pages.post(
        f"/pesanan/{order.id}/rutin", data={"csrf_token": token, "name": "Menu Sayur"}
    )
    assert no_day.status_code == 422
    assert "Pilih paling sedikit satu hari kirim." in no_day.text
    assert await templates_of(session_factory, kitchen) == []
    made = await pages.post(
        f"/pesanan/{order.id}/rutin",
        data={"csrf_token": token, "name": "Menu Sayur", "day-1": "1", "day-3": "1"},
    )
    assert made.status_code == 200
    [standing] = await templates_of(session_factory, kitchen)
    assert sorted(standing.weekdays) == ["1", "3"]
    assert standing.weekdays["1"] == [{"product_id": journey.product_id, "quantity": 6}]
    assert standing.delivery_address == "Jl. Terima 1"
    page = f"/rutin/{standing.id}"
    assert "Menu Sayur" in made.text
    assert "Aktif" in made.text
    rice = journey.product_id
    assert (
        f'name="q-1-{rice}" type="text" inputmode="numeric" pattern="[0-9]*" value="6"' in made.text
    )
    assert (
        f'name="q-2-{rice}" type="text" inputmode="numeric" pattern="[0-9]*" value=""' in made.text
    )
    bad = await pages.post(
        page, data={"csrf_token": token, "name": "", f"q-1-{rice}": "x", f"q-3-{rice}": "6"}
    )
    assert bad.status_code == 422
    assert "Beri nama pesanan rutin ini." in bad.text
    assert "Senin: Tulis bilangan bulat, 0 (tidak ada hari itu) atau lebih." in bad.text
    assert 'value="x"' in bad.text, "what was typed stays"
    # Tuesday is a new delivery day; Wednesday's line goes.
    week = {f"q-1-{rice}": "9", f"q-2-{rice}": "4", f"q-3-{rice}": "0"}
    edited = await pages.post(page, data={"csrf_token": token, "name": "Menu Sayur Baru", **week})
    assert edited.status_code == 200
    [standing] = await templates_of(session_factory, kitchen)
    assert standing.name == "Menu Sayur Baru"
    assert standing.weekdays == {
        "1": [{"product_id": rice, "quantity": 9}],
        "2": [{"product_id": rice, "quantity": 4}],
    }
    paused = await pages.post(f"{page}/aktif", data={"csrf_token": token, "active": "0"})
    assert "Dijeda" in paused.text
    assert not (await templates_of(session_factory, kitchen))[0].active
    resumed = await pages.post(f"{page}/aktif", data={"csrf_token": token, "active": "1"})
    assert "Lanjutkan" not in resumed.text
    assert (await templates_of(session_factory, kitchen))[0].active
    # A date the H-1 job could not place, and why.
    async with session_factory() as session:
        session.add(
            StandingOrderRun(
                standing_order_id=standing.id,
                delivery_date=dt.date(2026, 12, 7),
                outcome="failed",
                problem_code="orders.budget_exceeded",
                problem_detail="Over budget.",
            )
        )
        await session.commit()
    listed = await pages.get("/rutin")
    assert "Menu Sayur Baru" in listed.text
    assert re.search(
        r"Senin, 7 Desember 2026:\s*<span class=\"error\">tidak dipesan: Sisa", listed.text
    )
    # Another kitchen's person: not found, and nothing changes.
    other = await actors.org("kitchen", name="SPPG Lain Rutin")
    pages.cookies.clear()
    await sign_in(pages, await member(session_factory, other.organization_id), PASSWORD)
    assert (await pages.get(page)).status_code == 404
    token = token_of((await pages.get("/rutin")).text)
    for path, data in [
        (f"{page}/aktif", {"active": "0"}),
        (f"{page}/hapus", {}),
        (page, {"name": "Diambil", f"q-1-{rice}": "1"}),
        (f"{page}/tambah", {"listing_id": journey.listing_id, "quantity": "2"}),
    ]:
        hidden = await pages.post(path, data={"csrf_token": token, **data})
        assert hidden.status_code == 404
    assert (await templates_of(session_factory, kitchen))[0].name == "Menu Sayur Baru"
    assert (await templates_of(session_factory, kitchen))[0].active


async def test_a_kitchen_deletes_a_standing_order_and_a_viewer_may_not_change_one(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    order = await shipped_order(pages, journey, 3)
    kitchen = journey.kitchen.organization_id
    viewer = await member(session_factory, kitchen, role=Role.VIEWER, name="Pak Lihat")
    await sign_in(pages, viewer, PASSWORD)
    detail = await pages.get(f"/pesanan/{order.id}")
    refused = await pages.post(
        f"/pesanan/{order.id}/rutin",
        data={"csrf_token": token_of(detail.text), "name": "Rutin", "day-2": "1"},
    )
    assert refused.status_code == 422
    assert "Peran Anda tidak boleh mengubah pesanan rutin." in refused.text
    assert await templates_of(session_factory, kitchen) == []
    pages.cookies.clear()
    await sign_in(pages, journey.phone, PASSWORD)
    detail = await pages.get(f"/pesanan/{order.id}")
    token = token_of(detail.text)
    await pages.post(
        f"/pesanan/{order.id}/rutin", data={"csrf_token": token, "name": "Rutin", "day-2": "1"}
    )
    [standing] = await templates_of(session_factory, kitchen)
    pages.cookies.clear()
    await sign_in(pages, viewer, PASSWORD)
    token = token_of((await pages.get(f"/rutin/{standing.id}")).text)
    paused = await pages.post(
        f"/rutin/{standing.id}/aktif", data={"csrf_token": token, "active": "0"}
    )
    assert paused.status_code == 422
    assert "Peran Anda tidak boleh mengubah pesanan rutin." in paused.text
    assert (await templates_of(session_factory, kitchen))[0].active
    pages.cookies.clear()
    await sign_in(pages, journey.phone, PASSWORD)
    token = token_of((await pages.get(f"/rutin/{standing.id}")).text)
    gone = await pages.post(f"/rutin/{standing.id}/hapus", data={"csrf_token": token})
    assert "Belum ada pesanan rutin." in gone.text
    assert (await templates_of(session_factory, kitchen))[0].deleted_at is not None
    assert (await pages.get(f"/rutin/{standing.id}")).status_code == 404


async def test_a_product_found_in_the_shop_joins_every_delivery_day_of_a_standing_order(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    eggs = await create_product(pages, await actors.platform_admin(), name="Telur Ayam Rutin")
    await create_listing(pages, journey.cooperative, eggs["id"], tiers=[(1, 28_000)])
    order = await shipped_order(pages, journey, 6)
    kitchen = journey.kitchen.organization_id
    await sign_in(pages, journey.phone, PASSWORD)
    token = token_of((await pages.get(f"/pesanan/{order.id}")).text)
    await pages.post(
        f"/pesanan/{order.id}/rutin",
        data={"csrf_token": token, "name": "Menu Telur", "day-1": "1", "day-4": "1"},
    )
    [standing] = await templates_of(session_factory, kitchen)
    shop = await pages.get("/belanja", params={"rutin": str(standing.id), "q": "telur ayam rutin"})
    assert "Menambah ke pesanan rutin “Menu Telur”." in shop.text
    assert f'action="/rutin/{standing.id}/tambah"' in shop.text
    assert 'action="/keranjang/tambah"' not in shop.text
    listing = re.search(r'name="listing_id" value="([^"]+)"', shop.text)
    assert listing
    added = await pages.post(
        f"/rutin/{standing.id}/tambah",
        data={"csrf_token": token_of(shop.text), "listing_id": listing.group(1), "quantity": "30"},
    )
    assert added.status_code == 200
    assert "Telur Ayam Rutin" in added.text
    [standing] = await templates_of(session_factory, kitchen)
    egg_line = {"product_id": eggs["id"], "quantity": 30}
    assert sorted(standing.weekdays) == ["1", "4"]
    assert all(egg_line in lines for lines in standing.weekdays.values())
    assert all(len(lines) == 2 for lines in standing.weekdays.values())
    # Another standing order's id that is not the kitchen's: the shop ignores it.
    stranger = await pages.get("/belanja", params={"rutin": str(uuid.uuid4())})
    assert "Menambah ke pesanan rutin" not in stranger.text
