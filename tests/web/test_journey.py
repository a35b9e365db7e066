"""The kitchen manager's journey over HTTP: today, shop, cart, preview, order, cancel."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.accounts.domain.people import normalize_phone
from marketplace.accounts.models import Person
from marketplace.orders.models import Order
from tests.support import Actors, local_today
from tests.web.journey import kitchen_journey
from tests.web.people import PASSWORD, member
from tests.web.test_pages import CSRF, sign_in

CART_KEY = re.compile(r'name="cart_key" value="([^"]+)"')
LISTING = re.compile(r'name="listing_id" value="([^"]+)"')


@pytest.fixture
async def pages(client: AsyncTestClient[Litestar]) -> AsyncIterator[AsyncTestClient[Litestar]]:
    client.cookies.clear()
    yield client
    client.cookies.clear()


def token_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html
    return found.group(1)


async def orders_of(factory: async_sessionmaker[AsyncSession], buyer: uuid.UUID) -> int:
    async with factory() as session:
        count = select(func.count()).select_from(Order)
        return int(await session.scalar(count.where(Order.buyer_organization_id == buyer)) or 0)


async def test_a_kitchen_shops_places_one_order_for_two_taps_and_cancels_it(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    pages.headers.pop("Authorization", None)
    await sign_in(pages, journey.phone, PASSWORD)
    today = await pages.get("/hari-ini")
    assert "Periode anggaran" in today.text
    assert "Terpakai Rp0 dari Rp10.000.000" in today.text
    shop = await pages.get(
        "/belanja", params={"q": journey.product_name.lower(), "kategori": "rice"}
    )
    assert journey.product_name in shop.text
    assert "Koperasi Merah Putih Uji" in shop.text
    assert "Rp65.000 / karung 5 kg" in shop.text
    assert "mulai 10: Rp62.500" in shop.text
    listing = LISTING.search(shop.text)
    assert listing
    added = await pages.post(
        "/keranjang/tambah",
        data={"csrf_token": token_of(shop.text), "listing_id": listing.group(1), "quantity": "20"},
    )
    assert "Sudah masuk keranjang." in added.text
    cart = await pages.get("/keranjang")
    assert journey.product_name in cart.text
    preview = await pages.get("/periksa", params={"alamat": "Jl. Uji 1"})
    assert "20 dari Koperasi Merah Putih Uji" in preview.text
    assert "Rp1.250.000" in preview.text  # 20 at Rp62.500
    assert "Sisa anggaran setelah pesanan ini" in preview.text
    key = CART_KEY.search(preview.text)
    assert key
    form = {
        "csrf_token": token_of(preview.text),
        "cart_key": key.group(1),
        "tanggal": re.search(r'name="tanggal" value="([^"]+)"', preview.text).group(1),  # type: ignore[union-attr]
        "alamat": "Jl. Uji 1",
    }
    # A double tap: the two posts at once, then the form sent again after both answered.
    first, second = await asyncio.gather(
        pages.post("/pesan", data=form, follow_redirects=False),
        pages.post("/pesan", data=form, follow_redirects=False),
    )
    assert first.status_code == second.status_code == 303, (first.text, second.text)
    assert second.headers["location"] == first.headers["location"]
    again = await pages.post("/pesan", data=form, follow_redirects=False)
    assert again.headers["location"] == first.headers["location"]
    assert await orders_of(session_factory, journey.kitchen.organization_id) == 1
    detail = await pages.get(first.headers["location"])
    assert "Disiapkan" in detail.text
    assert "Dipesan oleh Bu Ratna" in detail.text
    async with session_factory() as session:  # recorded as the person, not as a key
        placed = await session.scalar(
            select(Order).where(Order.buyer_organization_id == journey.kitchen.organization_id)
        )
        person = await session.scalar(
            select(Person.id).where(Person.phone == normalize_phone(journey.phone))
        )
    assert placed is not None
    assert (placed.placed_by_person_id, placed.placed_by_api_key_id) == (person, None)
    tomorrow = await pages.get("/hari-ini")
    assert f'href="{first.headers["location"]}"' in tomorrow.text
    assert "Pesanan Rp1.250.000" in tomorrow.text
    assert "Terpakai Rp1.250.000 dari Rp10.000.000" in tomorrow.text
    listed = await pages.get("/pesanan")
    assert first.headers["location"] in listed.text
    cancelled = await pages.post(
        first.headers["location"] + "/batal", data={"csrf_token": token_of(detail.text)}
    )
    assert "Dibatalkan" in cancelled.text
    assert "Batalkan pesanan" not in cancelled.text
    # Another kitchen's person: the order's URL is the not-found page, as on the API.
    other = await actors.org("kitchen", name="SPPG Lain Uji")
    pages.cookies.clear()
    await sign_in(pages, await member(session_factory, other.organization_id), PASSWORD)
    hidden = await pages.get(first.headers["location"])
    assert hidden.status_code == 404
    assert "Tidak ditemukan" in hidden.text
    refused = await pages.post(
        first.headers["location"] + "/batal",
        data={"csrf_token": token_of((await pages.get("/pesanan")).text)},
    )
    assert refused.status_code == 404


async def test_an_unknown_order_is_not_found_and_a_viewer_may_not_order(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory, role=Role.VIEWER)
    pages.headers.pop("Authorization", None)
    await sign_in(pages, journey.phone, PASSWORD)
    stranger = await pages.get(f"/pesanan/{uuid.uuid4()}")
    assert stranger.status_code == 404
    assert "Tidak ditemukan" in stranger.text
    shop = await pages.get("/belanja", params={"q": journey.product_name})
    listing = LISTING.search(shop.text)
    assert listing
    await pages.post(
        "/keranjang/tambah",
        data={"csrf_token": token_of(shop.text), "listing_id": listing.group(1), "quantity": "2"},
    )
    preview = await pages.get("/periksa")
    key = CART_KEY.search(preview.text)
    assert key
    refused = await pages.post(
        "/pesan",
        data={"csrf_token": token_of(preview.text), "cart_key": key.group(1), "alamat": "Jl. Uji"},
    )
    assert refused.status_code == 422
    assert "Peran Anda tidak boleh memesan." in refused.text
    assert await orders_of(session_factory, journey.kitchen.organization_id) == 0


async def add_and_preview(
    pages: AsyncTestClient[Litestar], product_name: str, quantity: int
) -> tuple[str, dict[str, str]]:
    shop = await pages.get("/belanja", params={"q": product_name})
    listing = LISTING.search(shop.text)
    assert listing, shop.text
    await pages.post(
        "/keranjang/tambah",
        data={
            "csrf_token": token_of(shop.text),
            "listing_id": listing.group(1),
            "quantity": str(quantity),
        },
    )
    preview = await pages.get("/periksa", params={"alamat": "Jl. Uji 2"})
    key = CART_KEY.search(preview.text)
    day = re.search(r'name="tanggal" value="([^"]+)"', preview.text)
    assert key
    assert day
    form = {
        "csrf_token": token_of(preview.text),
        "cart_key": key.group(1),
        "tanggal": day.group(1),
        "alamat": "Jl. Uji 2",
    }
    return preview.text, form


async def test_refusals_are_indonesian_sentences_with_their_figures(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # 1 portion a day at Rp10.000 for 10 days: an envelope of Rp100.000.
    journey = await kitchen_journey(pages, actors, session_factory, portions_per_day=1)
    pages.headers.pop("Authorization", None)
    await sign_in(pages, journey.phone, PASSWORD)
    short, _ = await add_and_preview(pages, journey.product_name, 500)
    assert "Hanya 100 dari 500 yang diminta dapat dipasok." in short
    cart = await pages.get("/keranjang")
    line = re.search(r'name="line" value="([^"]+)"', cart.text)
    assert line
    await pages.post(
        "/keranjang/ubah",
        data={"csrf_token": token_of(short), "line": line.group(1), "quantity": "0"},
    )
    preview, form = await add_and_preview(pages, journey.product_name, 20)
    over = (
        "Pesanan ini Rp1.250.000, tetapi sisa anggaran periode ini hanya Rp100.000 dari "
        "Rp100.000 (lebih Rp1.150.000)."
    )
    assert over in preview
    refused = await pages.post("/pesan", data=form)
    assert refused.status_code == 422
    assert refused.text.count(over) == 1
    assert await orders_of(session_factory, journey.kitchen.organization_id) == 0


async def test_a_food_stall_sees_today_without_a_budget(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    warung = await actors.org("food_stall", name="Warung Bu Sri Uji")
    phone = await member(session_factory, warung.organization_id, name="Bu Sri")
    await sign_in(pages, phone, PASSWORD)
    today = await pages.get("/hari-ini")
    assert today.status_code == 200
    assert "Kiriman besok" in today.text
    assert "Pesanan rutin untuk besok" in today.text
    assert "Periode anggaran" not in today.text


async def test_today_lists_the_standing_orders_that_place_tomorrows_lines(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    tomorrow = local_today() + dt.timedelta(days=1)
    made = await pages.post(
        "/v1/standing-orders",
        json={
            "name": "Menu Rutin Uji",
            "weekdays": {
                str(tomorrow.isoweekday()): [{"product_id": journey.product_id, "quantity": 7}]
            },
            "delivery": {"region_code": journey.kitchen.region_code, "address": "Jl. Uji 3"},
        },
        headers=journey.kitchen.headers,
    )
    assert made.status_code == 201, made.text
    await sign_in(pages, journey.phone, PASSWORD)
    today = await pages.get("/hari-ini")
    assert "Menu Rutin Uji" in today.text
    assert f"7 \u00d7 {journey.product_name} (karung 5 kg)" in today.text
