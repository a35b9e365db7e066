"""Receiving over HTTP: a short delivery confirmed leg by leg, the printable BAST."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.orders.models import OrderLeg
from tests.support import Actors
from tests.web.journey import kitchen_journey, shipped_order
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["pages"]


async def delivered_quantity(factory: async_sessionmaker[AsyncSession], leg_id: str) -> int | None:
    async with factory() as session:
        leg = await session.scalar(select(OrderLeg).where(OrderLeg.id == leg_id))
        assert leg is not None
        return leg.delivered_quantity


async def test_a_kitchen_confirms_a_short_delivery_and_prints_its_bast(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    order = await shipped_order(pages, journey, 20)
    leg = order.legs[0]
    await sign_in(pages, journey.phone, PASSWORD)
    detail = await pages.get(f"/pesanan/{order.id}")
    assert f'href="/pesanan/{order.id}/terima"' in detail.text
    assert '<p class="big">Dalam pengiriman</p>' in detail.text
    receive = await pages.get(f"/pesanan/{order.id}/terima")
    assert receive.status_code == 200
    assert f'name="received-{leg.id}" inputmode="numeric" value="20"' in receive.text
    action = f"/pesanan/{order.id}/terima/{leg.id}"
    token = token_of(receive.text)
    for bad, said in [
        ("dua", "Tulis berapa yang tiba: bilangan bulat, 0 atau lebih."),
        ("-1", "Tulis berapa yang tiba: bilangan bulat, 0 atau lebih."),
        ("21", "Hanya 20 yang dikirim: jumlah diterima tidak boleh lebih."),
    ]:
        refused = await pages.post(action, data={"csrf_token": token, f"received-{leg.id}": bad})
        assert refused.status_code == 422
        assert said in refused.text
        assert f'value="{bad}"' in refused.text
        assert await delivered_quantity(session_factory, leg.id) is None
    received = await pages.post(
        action,
        data={"csrf_token": token, f"received-{leg.id}": "18", f"note-{leg.id}": "2 karung basah"},
    )
    assert received.status_code == 200
    assert "Diterima 18 pada" in received.text
    assert await delivered_quantity(session_factory, leg.id) == 18
    today = await pages.get("/hari-ini")
    assert "Terpakai Rp1.125.000 dari Rp10.000.000" in today.text  # 18 at Rp62.500
    again = await pages.post(action, data={"csrf_token": token, f"received-{leg.id}": "17"})
    assert again.status_code == 422  # a second receipt of the same leg is refused
    assert "Kiriman ini belum bisa dikonfirmasi" in again.text
    assert await delivered_quantity(session_factory, leg.id) == 18
    bast = await pages.get(f"/pesanan/{order.id}/bast")
    assert bast.status_code == 200
    assert "Berita Acara Serah Terima (BAST)" in bast.text
    assert re.search(r"<td class=\"num\">20</td>\s*<td class=\"num\">18</td>", bast.text)
    assert "2 karung basah" in bast.text
    assert "Yang menerima" in bast.text
    assert "Bu Ratna" in bast.text
    # Another kitchen's person: the receiving pages are not found, nothing is received.
    other = await actors.org("kitchen", name="SPPG Lain Terima")
    pages.cookies.clear()
    await sign_in(pages, await member(session_factory, other.organization_id), PASSWORD)
    for path in (f"/pesanan/{order.id}/terima", f"/pesanan/{order.id}/bast"):
        assert (await pages.get(path)).status_code == 404
    token = token_of((await pages.get("/pesanan")).text)
    hidden = await pages.post(action, data={"csrf_token": token, f"received-{leg.id}": "1"})
    assert hidden.status_code == 404
    assert "Tidak ditemukan" in hidden.text


async def test_a_viewer_may_not_confirm_a_receipt(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory, role=Role.VIEWER)
    order = await shipped_order(pages, journey, 5)
    leg = order.legs[0]
    await sign_in(pages, journey.phone, PASSWORD)
    receive = await pages.get(f"/pesanan/{order.id}/terima")
    refused = await pages.post(
        f"/pesanan/{order.id}/terima/{leg.id}",
        data={"csrf_token": token_of(receive.text), f"received-{leg.id}": "5"},
    )
    assert refused.status_code == 422
    assert "Peran Anda tidak boleh mengonfirmasi penerimaan." in refused.text
    assert await delivered_quantity(session_factory, leg.id) is None


async def test_an_order_is_shared_to_whatsapp_as_an_indonesian_summary(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    order = await shipped_order(pages, journey, 4)
    await sign_in(pages, journey.phone, PASSWORD)
    await pages.post(
        "/bahasa",
        data={"csrf_token": token_of((await pages.get("/pesanan")).text), "lang": "en"},
    )
    detail = await pages.get(f"/pesanan/{order.id}")
    assert "Share to WhatsApp" in detail.text
    found = re.search(r'href="(https://wa\.me/\?text=[^"]+)"', detail.text)
    assert found
    text = parse_qs(urlsplit(html.unescape(found.group(1))).query)["text"][0]
    assert text.startswith("Pesanan SPPG Perjalanan Uji untuk ")
    assert f"- 4 \u00d7 {journey.product_name} (karung 5 kg): Koperasi Merah Putih Uji" in text
    assert "Jumlah total: Rp260.000" in text  # 4 at Rp65.000
    # Shipped, nothing received yet: "on the way", as the order's page says.
    assert "Status pesanan: Dalam pengiriman" in text
    assert "Dikirim ke: Jl. Terima 1" in text
