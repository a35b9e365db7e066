"""The kitchen manager's journey in Chromium at 360x740: search, cart kept over a reload,
preview, one order for a double tap, the order in the list and its detail, cancelling."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.orders.models import Order
from tests.browser.checks import check_page, first_load_weight
from tests.browser.conftest import VIEWPORT
from tests.browser.test_sign_in import sign_in
from tests.support import Actors
from tests.web.journey import kitchen_journey
from tests.web.people import PASSWORD


async def test_a_kitchen_manager_orders_on_a_phone_once_for_a_double_tap_and_cancels(
    page: Page,
    live_url: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(client, actors, session_factory)
    await sign_in(page, live_url, journey.phone, PASSWORD)
    await expect(page.get_by_role("heading", name="Periode anggaran")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, f"{live_url}/hari-ini", "/hari-ini (journey)")

    await page.get_by_role("link", name="Belanja").click()
    await first_load_weight(page, f"{live_url}/belanja", "/belanja")
    # Search as you type: no button pressed, the offers follow the words typed.
    # (The whole name: other tests' rice in this database would fill the first page.)
    await page.get_by_label("Cari produk").press_sequentially(journey.product_name.lower())
    offer = page.get_by_role("listitem").filter(has_text=journey.product_name)
    await expect(offer).to_be_visible()
    await page.get_by_label("Cari produk").fill("tidak ada barang seperti ini")
    await expect(page.get_by_text("Tidak ada penawaran yang cocok.")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"q=tidak"))
    await page.get_by_label("Cari produk").fill(journey.product_name.lower())
    await page.get_by_label("Kategori").select_option("rice")
    await expect(offer).to_contain_text("Koperasi Merah Putih Uji")
    await expect(offer).to_contain_text("Rp65.000 / karung 5 kg")
    await check_page(page)
    await offer.get_by_label("Jumlah (karung 5 kg)").fill("20")
    await offer.get_by_role("button", name="Masukkan keranjang").click()
    await expect(page.get_by_text("Sudah masuk keranjang.")).to_be_visible()

    await page.get_by_role("link", name="Keranjang", exact=True).click()
    await page.reload()
    await expect(page.get_by_role("heading", name=journey.product_name)).to_be_visible()
    await check_page(page)
    await first_load_weight(page, f"{live_url}/keranjang", "/keranjang")
    await page.get_by_label("Alamat kirim").fill("Jl. Uji 1, Magersari")
    await page.get_by_role("button", name="Periksa").click()
    await expect(page.get_by_text("20 dari Koperasi Merah Putih Uji")).to_be_visible()
    await expect(page.get_by_text("Sisa anggaran setelah pesanan ini")).to_be_visible()
    await check_page(page)
    preview_url = page.url
    await first_load_weight(page, preview_url, "/periksa")

    await page.get_by_role("button", name="Pesan", exact=True).dblclick()
    await expect(page.get_by_role("heading", name="Pesanan untuk")).to_be_visible()
    async with session_factory() as session:
        count = select(func.count()).select_from(Order)
        buyer = Order.buyer_organization_id == journey.kitchen.organization_id
        assert await session.scalar(count.where(buyer)) == 1
    await expect(page.get_by_text("Disiapkan")).to_be_visible()
    await check_page(page)
    order_url = page.url
    await first_load_weight(page, order_url, "/pesanan/{id}")

    await page.get_by_role("link", name="Pesanan", exact=True).click()
    await expect(page.locator(f"a[href='{order_url.removeprefix(live_url)}']")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, f"{live_url}/pesanan", "/pesanan")
    await page.goto(order_url)
    await page.get_by_role("button", name="Batalkan pesanan").click()
    await expect(page.locator("p.big")).to_have_text("Dibatalkan")
    await check_page(page)


async def test_the_journey_works_with_javascript_off(
    browser: Browser,
    live_url: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(client, actors, session_factory)
    context = await browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    try:
        page = await context.new_page()
        await sign_in(page, live_url, journey.phone, PASSWORD)
        await page.goto(f"{live_url}/belanja")
        await page.get_by_label("Cari produk").fill(journey.product_name)
        await page.get_by_role("button", name="Cari", exact=True).click()
        offer = page.get_by_role("listitem").filter(has_text=journey.product_name)
        await offer.get_by_label("Jumlah (karung 5 kg)").fill("3")
        await offer.get_by_role("button", name="Masukkan keranjang").click()
        await page.goto(f"{live_url}/keranjang")
        await page.get_by_label("Jumlah (karung 5 kg)").fill("4")
        await page.get_by_role("button", name="Ubah").click()
        await expect(page.get_by_label("Jumlah (karung 5 kg)")).to_have_value("4")
        await page.get_by_role("button", name="Periksa").click()
        await expect(page.get_by_text("4 dari Koperasi Merah Putih Uji")).to_be_visible()
        await page.get_by_role("button", name="Pesan", exact=True).click()
        await expect(page.get_by_role("heading", name="Pesanan untuk")).to_be_visible()
        async with session_factory() as session:
            count = select(func.count()).select_from(Order)
            buyer = Order.buyer_organization_id == journey.kitchen.organization_id
            assert await session.scalar(count.where(buyer)) == 1
    finally:
        await context.close()
