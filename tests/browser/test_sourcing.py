"""Government sourcing on a phone (360x740): an officer writes an RFQ, two cooperatives
quote, after the deadline the officer awards, records the BAST, sees the invoice (its PDF
link) and records the payment; every step passes axe, fits the phone and is photographed."""

from __future__ import annotations

import datetime as dt
import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.browser.checks import check_page
from tests.support import Actors
from tests.web.people import PASSWORD
from tests.web.test_sourcing_pages import close_quotes, world_of


async def sign_in_as(page: Page, live_url: str, phone: str) -> None:
    await page.context.clear_cookies()
    await page.goto(f"{live_url}/masuk")
    await page.get_by_label("Nomor telepon").fill(phone)
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url(lambda url: "/masuk" not in url)


async def test_an_officer_sources_on_a_phone(
    page: Page,
    live_url: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await world_of(client, actors, session_factory)
    later = dt.date.today() + dt.timedelta(days=10)
    await sign_in_as(page, live_url, world.officer)
    await page.goto(f"{live_url}/pengadaan")
    await expect(page.get_by_role("heading", name="Pengadaan")).to_be_visible()
    await check_page(page)
    await page.get_by_role("link", name="Tulis permintaan penawaran").click()
    await page.get_by_label("Cari produk menurut nama").fill(world.tag)
    await page.get_by_role("button", name="Cari", exact=True).click()
    await expect(page).to_have_url(re.compile(r"q="))
    await page.get_by_label("Judul permintaan").fill("Sembako dapur umum")
    await page.locator("#product-1").select_option(world.rice.id)
    await page.locator("#quantity-1").fill("100")
    await page.locator("#product-2").select_option(world.oil.id)
    await page.locator("#quantity-2").fill("50")
    await page.get_by_label("Tanggal kirim").fill(later.isoformat())
    await page.get_by_label("Kode wilayah pengiriman").fill("35.76")
    await page.get_by_label("Alamat kirim").fill("Jl. Gajah Mada 100")
    await page.get_by_label("Kode anggaran (RUP/DPA)").fill("")
    await page.get_by_label("Batas waktu penawaran").fill(
        f"{(later - dt.timedelta(days=3)).isoformat()}T12:00"
    )
    await check_page(page)
    # An empty budget code is refused next to its field (the browser's own check is off).
    await page.locator('form[action="/pengadaan"]').evaluate("form => form.noValidate = true")
    await page.get_by_role("button", name="Umumkan permintaan").click()
    await expect(page.locator("#budget_code-error")).to_contain_text("Tulis kode anggaran")
    await check_page(page)
    await page.get_by_label("Kode anggaran (RUP/DPA)").fill("RUP-2026-0042")
    await page.get_by_role("button", name="Umumkan permintaan").click()
    await expect(page.get_by_text("Penawaran disegel sampai batas waktu")).to_be_visible()
    rfq_url = page.url
    await check_page(page)
    for (_coop, phone), prices in zip(
        world.coops, [("12000", "20000"), ("11000", "19000")], strict=True
    ):
        await sign_in_as(page, live_url, phone)
        await page.goto(rfq_url)
        await page.locator("#price-1").fill(prices[0])
        await page.locator("#price-2").fill(prices[1])
        await page.get_by_role("button", name="Kirim penawaran").click()
        await expect(page.get_by_role("heading", name="Penawaran Anda", exact=True)).to_be_visible()
        await check_page(page)
    await close_quotes(session_factory, rfq_url.rsplit("/", 1)[1])
    await sign_in_as(page, live_url, world.officer)
    await page.goto(rfq_url)
    await expect(page.locator("#quotes")).to_contain_text("Rp2.050.000")
    await expect(page.locator('input[name="choice"]:checked')).to_have_count(1)
    await check_page(page)
    await page.get_by_role("button", name="Tetapkan pemenang dan terbitkan surat pesanan").click()
    await expect(page.get_by_role("heading", name="Surat pesanan")).to_be_visible()
    await check_page(page)
    await page.locator("#received-1").fill("100")
    await page.locator("#received-2").fill("50")
    await page.get_by_label("Nomor BAST").fill("BAST-001")
    await page.get_by_role("button", name="Catat serah terima barang").click()
    await expect(page.get_by_text("BAST-001")).to_be_visible()
    await check_page(page)
    await page.get_by_role("button", name="Terbitkan faktur atas barang yang diterima").click()
    await expect(page.locator("#invoice-pph22")).to_be_visible()
    pdf = page.get_by_role("link", name="Faktur dalam PDF")
    await expect(pdf).to_have_attribute("hx-boost", "false")
    await check_page(page)
    await page.get_by_label("Nomor SP2D").fill("SP2D-001")
    await page.get_by_role("button", name="Catat pembayaran").click()
    await expect(page.locator("#paid")).to_contain_text("SP2D SP2D-001")
    await expect(page.locator("#po-status")).to_have_text("Dibayar oleh kas daerah")
    await check_page(page)
    # The office's purchase orders, with the paid one at the top.
    await page.get_by_role("link", name="Surat pesanan", exact=True).first.click()
    await expect(page.locator("#purchase-orders li").first).to_contain_text(
        "Dibayar oleh kas daerah"
    )
    await check_page(page)
