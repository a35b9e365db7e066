"""Belanja: offers near the kitchen first, pages of offers, search as you type (htmx asks
for the offers only), and a cart line that orders from the offer tapped."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders.catalog import create_listing
from tests.support import Actors
from tests.web.journey import kitchen_journey
from tests.web.people import PASSWORD
from tests.web.test_journey import LISTING, pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["pages"]

LINE = re.compile(r'name="line" value="([^"]+)"')


async def test_offers_are_the_kitchens_city_first_and_every_region_on_request(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    far = await actors.org(
        "cooperative", "seller", name="Koperasi Jauh Bandung", region_code="32.73.01.1001"
    )
    await create_listing(pages, far, journey.product_id, tiers=[(1, 60_000)])
    pages.headers.pop("Authorization", None)
    await sign_in(pages, journey.phone, PASSWORD)

    city = await pages.get("/belanja", params={"q": journey.product_name})
    assert "Koperasi Merah Putih Uji" in city.text
    assert "Koperasi Jauh Bandung" not in city.text
    assert "Kota saya (Kota Mojokerto)" in city.text
    everywhere = await pages.get("/belanja", params={"q": journey.product_name, "wilayah": "semua"})
    assert everywhere.text.index("Koperasi Jauh Bandung") < everywhere.text.index(
        "Koperasi Merah Putih Uji"
    ), "cheapest first"
    province = await pages.get(
        "/belanja", params={"q": journey.product_name, "wilayah": "provinsi"}
    )
    assert "Koperasi Jauh Bandung" not in province.text
    nothing = await pages.get("/belanja", params={"q": "tidak ada barang seperti ini"})
    assert "Cari di semua wilayah" in nothing.text


async def test_offers_come_in_pages_and_a_tampered_page_link_starts_again(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    for number in range(24):  # 25 offers of the product, at 25 prices
        seller = await actors.org("cooperative", "seller", name=f"Koperasi Halaman {number:02d}")
        await create_listing(pages, seller, journey.product_id, tiers=[(1, 50_000 + number)])
    pages.headers.pop("Authorization", None)
    await sign_in(pages, journey.phone, PASSWORD)

    first = await pages.get("/belanja", params={"q": journey.product_name})
    assert len(LISTING.findall(first.text)) == 20
    more = re.search(r'href="/belanja\?([^"]+)" rel="next"', first.text)
    assert more
    second = await pages.get("/belanja?" + more.group(1).replace("&amp;", "&"))
    assert len(LISTING.findall(second.text)) == 5
    assert not set(LISTING.findall(first.text)) & set(LISTING.findall(second.text))
    assert 'rel="next"' not in second.text
    assert "Koperasi Merah Putih Uji" in second.text  # Rp65.000, the dearest
    tampered = await pages.get(
        "/belanja", params={"q": journey.product_name, "setelah": "bm90LWEtY3Vyc29y"}
    )
    assert tampered.status_code == 200
    assert LISTING.findall(tampered.text) == LISTING.findall(first.text)


async def test_search_as_you_type_answers_with_the_offers_only(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    pages.headers.pop("Authorization", None)
    await sign_in(pages, journey.phone, PASSWORD)
    typed = await pages.get(
        "/belanja",
        params={"q": journey.product_name},
        headers={"HX-Request": "true", "HX-Target": "offers"},
    )
    assert typed.status_code == 200
    assert typed.text.lstrip().startswith('<div id="offers"')
    assert "<html" not in typed.text
    assert journey.product_name in typed.text
    whole = await pages.get("/belanja", params={"q": journey.product_name})
    assert "<html" in whole.text
    assert len(typed.content) < len(whole.content) / 2


async def test_the_offer_tapped_is_the_one_ordered_from_until_others_are_allowed(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    cheaper = await actors.org("cooperative", "seller", name="Koperasi Lebih Murah")
    await create_listing(pages, cheaper, journey.product_id, tiers=[(1, 55_000)])
    pages.headers.pop("Authorization", None)
    await sign_in(pages, journey.phone, PASSWORD)
    shop = await pages.get("/belanja", params={"q": journey.product_name})
    offers = shop.text.split("<li>\n    <h2>")
    dearer = next(o for o in offers if "Koperasi Merah Putih Uji" in o)
    listing = LISTING.search(dearer)
    assert listing
    await pages.post(
        "/keranjang/tambah",
        data={"csrf_token": token_of(shop.text), "listing_id": listing.group(1), "quantity": "3"},
    )
    cart = await pages.get("/keranjang")
    assert "Dari Koperasi Merah Putih Uji" in cart.text
    pinned = await pages.get("/periksa", params={"alamat": "Jl. Uji 3"})
    assert "3 dari Koperasi Merah Putih Uji" in pinned.text
    assert "Koperasi Lebih Murah" not in pinned.text

    line = LINE.search(cart.text)
    assert line
    await pages.post(
        "/keranjang/ubah",
        data={"csrf_token": token_of(cart.text), "line": line.group(1), "pemasok": "mana-saja"},
    )
    cart = await pages.get("/keranjang")
    assert "Dari pemasok terdekat yang punya" in cart.text
    free = await pages.get("/periksa", params={"alamat": "Jl. Uji 3"})
    assert "3 dari Koperasi Lebih Murah" in free.text
