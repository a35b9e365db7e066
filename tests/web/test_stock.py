"""Stock pages over HTTP: a clerk receives stock, recounts with a reason and changes price
tiers (a price above the cap refused); a UMKM manages its own listing the same way; another
organization's listing is not found, even in the public catalogue; a viewer cannot act."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.listings.models import Listing
from tests.builders.catalog import create_listing
from tests.support import Actors
from tests.web.desk import desk
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["pages"]


async def listing_row(factory: async_sessionmaker[AsyncSession], listing_id: str) -> Listing:
    async with factory() as session:
        row = await session.scalar(select(Listing).where(Listing.id == listing_id))
        assert row is not None
        return row


async def test_a_clerk_receives_recounts_and_reprices_and_a_umkm_its_own_listing(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory)
    listing = await create_listing(pages, d.coop, d.product_id, tiers=[(1, 28_000)], stock=40)
    own = await create_listing(pages, d.umkm, d.product_id, tiers=[(1, 27_000)], stock=5)
    await sign_in(pages, d.clerk_phone, PASSWORD)
    stock = await pages.get("/stok")
    assert d.product_name in stock.text
    assert "Di tempat 40 · dipesan 0 · tersedia 40" in stock.text
    url = f"/stok/{listing['id']}"
    page = await pages.get(url)
    assert page.status_code == 200
    token = token_of(page.text)
    received = await pages.post(f"{url}/terima", data={"csrf_token": token, "received": "12"})
    assert received.status_code == 200
    assert (await listing_row(session_factory, listing["id"])).on_hand == 52
    no_reason = await pages.post(f"{url}/hitung", data={"csrf_token": token, "counted": "50"})
    assert no_reason.status_code == 422
    assert "Tulis mengapa hitungan berbeda" in no_reason.text
    recount = await pages.post(
        f"{url}/hitung", data={"csrf_token": token, "counted": "50", "reason": "2 bungkus sobek"}
    )
    assert recount.status_code == 200
    assert "Hitung ulang -2 · 2 bungkus sobek" in recount.text
    assert (await listing_row(session_factory, listing["id"])).on_hand == 50
    above = await pages.post(
        f"{url}/harga",
        data={"csrf_token": token, "min-0": "1", "price-0": "31000"},
    )
    assert above.status_code == 422
    assert "Harga melebihi harga eceran tertinggi (HET) Rp30.000" in above.text
    tiers = await pages.post(
        f"{url}/harga",
        data={
            "csrf_token": token,
            "min-0": "1",
            "price-0": "29000",
            "min-1": "20",
            "price-1": "27500",
        },
    )
    assert tiers.status_code == 200
    assert (await listing_row(session_factory, listing["id"])).tiers == [
        {"min_quantity": 1, "unit_price": 29_000},
        {"min_quantity": 20, "unit_price": 27_500},
    ]
    # The UMKM's own listing is not the cooperative's to see or change.
    assert (await pages.get(f"/stok/{own['id']}")).status_code == 404
    answer = await pages.post(
        f"/stok/{own['id']}/terima", data={"csrf_token": token, "received": "1"}
    )
    assert answer.status_code == 404
    assert (await listing_row(session_factory, own["id"])).on_hand == 5

    pages.cookies.clear()
    await sign_in(pages, d.owner_phone, PASSWORD)
    mine = await pages.get("/stok")
    assert re.search(r"Di tempat 5 · dipesan 0 · tersedia 5", mine.text)
    token = token_of(mine.text)
    assert (await pages.get(url)).status_code == 404  # the cooperative's listing
    received = await pages.post(
        f"/stok/{own['id']}/terima", data={"csrf_token": token, "received": "3"}
    )
    assert received.status_code == 200
    assert (await listing_row(session_factory, own["id"])).on_hand == 8


async def test_a_viewer_sees_the_stock_but_cannot_change_it(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory)
    listing = await create_listing(pages, d.coop, d.product_id, tiers=[(1, 28_000)], stock=40)
    viewer = await member(session_factory, d.coop.organization_id, role=Role.VIEWER)
    await sign_in(pages, viewer, PASSWORD)
    page = await pages.get(f"/stok/{listing['id']}")
    assert page.status_code == 200
    refused = await pages.post(
        f"/stok/{listing['id']}/terima", data={"csrf_token": token_of(page.text), "received": "5"}
    )
    assert refused.status_code == 403
    assert "Peran Anda tidak boleh melakukan ini." in refused.text
    assert (await listing_row(session_factory, listing["id"])).on_hand == 40


async def test_a_umkm_starts_selling_a_product_from_its_own_stock(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory)
    await sign_in(pages, d.owner_phone, PASSWORD)
    stock = await pages.get("/stok")
    assert "Anda belum menjual barang apa pun." in stock.text
    token = token_of(stock.text)
    form = {"csrf_token": token, "product_id": d.product_id, "opening": "12"}
    above = await pages.post("/stok/baru", data={**form, "price": "31000"})
    assert above.status_code == 422
    assert 'id="price-error"' in above.text
    assert "Rp30.000" in above.text
    made = await pages.post("/stok/baru", data={**form, "price": "26000"})
    assert made.status_code == 200
    assert re.search(r'id="on-hand">12<', made.text)
    again = await pages.post("/stok/baru", data={**form, "price": "26000"})
    assert again.status_code == 409
    assert "Anda sudah menjual produk ini" in again.text
    async with session_factory() as session:
        rows = (
            await session.scalars(
                select(Listing).where(Listing.seller_organization_id == d.umkm.organization_id)
            )
        ).all()
    assert [(r.on_hand, r.base_unit_price) for r in rows] == [(12, 26_000)]


def shown_version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found is not None, "the price form carries the listing's version"
    return found.group(1)


async def test_two_clerks_reprice_from_the_same_page_the_second_is_told_not_overwriting(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory)
    listing = await create_listing(pages, d.coop, d.product_id, tiers=[(1, 28_000)], stock=40)
    await sign_in(pages, d.clerk_phone, PASSWORD)
    url = f"/stok/{listing['id']}"
    page = await pages.get(url)
    token, version = token_of(page.text), shown_version(page.text)
    # Both clerks opened the page showing this version; the first one saves.
    first = await pages.post(
        f"{url}/harga",
        data={"csrf_token": token, "version": version, "min-0": "1", "price-0": "29000"},
    )
    assert first.status_code == 200
    assert shown_version(first.text) != version
    second = await pages.post(
        f"{url}/harga",
        data={"csrf_token": token, "version": version, "min-0": "1", "price-0": "26500"},
    )
    assert second.status_code == 409
    assert "Data ini baru saja diubah orang lain. Periksa lalu simpan lagi." in second.text
    # The page shows what is saved now, with its version, to check and save again.
    assert 'value="29000"' in second.text
    assert shown_version(second.text) == shown_version(first.text)
    assert (await listing_row(session_factory, listing["id"])).tiers == [
        {"min_quantity": 1, "unit_price": 29_000}
    ]
    again = await pages.post(
        f"{url}/harga",
        data={
            "csrf_token": token_of(second.text),
            "version": shown_version(second.text),
            "min-0": "1",
            "price-0": "26500",
        },
    )
    assert again.status_code == 200
    assert (await listing_row(session_factory, listing["id"])).base_unit_price == 26_500
    for odd in ("²", "-1", "9" * 30):
        refused = await pages.post(
            f"{url}/harga",
            data={"csrf_token": token, "version": odd, "min-0": "1", "price-0": "1000"},
        )
        assert refused.status_code == 409, odd
    assert (await listing_row(session_factory, listing["id"])).base_unit_price == 26_500
    # A form from before versions were carried saves as it always did.
    old_form = await pages.post(
        f"{url}/harga", data={"csrf_token": token, "min-0": "1", "price-0": "27000"}
    )
    assert old_form.status_code == 200
    assert (await listing_row(session_factory, listing["id"])).base_unit_price == 27_000
