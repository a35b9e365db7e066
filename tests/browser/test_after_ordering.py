"""The kitchen manager's journey after ordering, in Chromium at 360x740: receiving a short
delivery (the budget bar moves by exactly what was not delivered) and its printable BAST,
a standing order made from the order and paused, a budget period created."""

from __future__ import annotations

import datetime as dt

from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.browser.checks import check_page, first_load_weight
from tests.browser.test_sign_in import sign_in
from tests.support import Actors, local_today
from tests.web.journey import kitchen_journey, shipped_order
from tests.web.people import PASSWORD


async def budget_used(page: Page) -> int:
    return int(await page.locator("#budget-bar").get_attribute("value") or "-1")


async def test_a_kitchen_manager_receives_a_short_delivery_on_a_phone(
    page: Page,
    live_url: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(client, actors, session_factory)
    order = await shipped_order(client, journey, 20)
    await sign_in(page, live_url, journey.phone, PASSWORD)
    ordered = await budget_used(page)
    assert ordered == 1_250_000  # 20 at Rp62.500

    await page.goto(f"{live_url}/pesanan/{order.id}")
    await page.get_by_role("link", name="Terima barang").click()
    await expect(page.get_by_role("heading", name="Penerimaan pesanan")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, page.url, "/pesanan/{id}/terima")
    await page.get_by_label("Diterima (karung 5 kg)").fill("18")
    await page.get_by_label("Catatan (boleh kosong)").fill("2 karung tidak datang")
    await page.get_by_role("button", name="Konfirmasi diterima").click()
    await expect(page.get_by_text("Diterima 18 pada")).to_be_visible()
    await check_page(page)

    await page.get_by_role("link", name="BAST untuk dicetak").click()
    bast = page.get_by_role("heading", name="Berita Acara Serah Terima (BAST)")
    await expect(bast).to_be_visible()
    await check_page(page)
    await first_load_weight(page, page.url, "/pesanan/{id}/bast")

    await page.goto(f"{live_url}/hari-ini")
    assert await budget_used(page) == 18 * 62_500  # moved by exactly the 2 not delivered
    assert ordered - await budget_used(page) == 2 * 62_500

    await page.goto(f"{live_url}/pesanan/{order.id}")
    await check_page(page)
    await page.get_by_label("Nama pesanan rutin").fill("Beras tiap minggu")
    await page.get_by_role("button", name="Jadikan pesanan rutin").click()
    await expect(page.get_by_role("heading", name="Beras tiap minggu")).to_be_visible()
    await expect(page.locator("p.big")).to_have_text("Aktif")
    await check_page(page)
    await first_load_weight(page, page.url, "/rutin/{id}")
    await page.get_by_role("button", name="Jeda").click()
    await expect(page.locator("p.big")).to_have_text("Dijeda")
    tuesday = page.get_by_label(f"{journey.product_name}, Selasa")
    await tuesday.fill("5")  # a delivery day the order did not have
    await page.get_by_role("button", name="Simpan").click()
    await expect(tuesday).to_have_value("5")
    await check_page(page)
    await page.get_by_role("link", name="Rutin", exact=True).click()
    await expect(page.get_by_role("listitem").filter(has_text="Beras tiap minggu")).to_contain_text(
        "Dijeda"
    )
    await check_page(page)
    await first_load_weight(page, f"{live_url}/rutin", "/rutin")

    await page.goto(f"{live_url}/anggaran")
    await check_page(page)
    await first_load_weight(page, f"{live_url}/anggaran", "/anggaran")
    later = local_today() + dt.timedelta(days=30)
    await page.get_by_label("Hari pertama").fill(later.isoformat())
    await page.get_by_label("Porsi per hari Rp10.000").fill("120")
    await page.get_by_role("button", name="Buat periode anggaran").click()
    await expect(page.get_by_text("Terpakai Rp0 dari Rp12.000.000")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, page.url, "/anggaran/{id}")
