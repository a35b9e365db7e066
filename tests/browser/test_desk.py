"""The UMKM owner and the cooperative clerk in Chromium at 360x740: a UMKM proposes an
intake; the clerk receives 48 of 50; a kitchen orders from it; the clerk ships (the surat
jalan is linked); the kitchen confirms receipt; the clerk runs the settlement and marks the
payout paid; the UMKM sees the statement (its PDF linked) and the payout paid. Every step
passes axe-core and fits the phone, with a screenshot."""

from __future__ import annotations

import datetime as dt
import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.test_consignment import run_outbox
from tests.browser.checks import check_page, first_load_weight
from tests.browser.conftest import VIEWPORT
from tests.browser.test_sign_in import sign_in
from tests.builders.catalog import create_listing
from tests.builders.orders import order_body, placed_order
from tests.support import Actors, local_today
from tests.web.desk import desk
from tests.web.people import PASSWORD


async def sign_out(page: Page) -> None:
    await page.get_by_role("button", name="Keluar").click()
    await expect(page.get_by_role("button", name="Masuk")).to_be_visible()


async def test_a_umkm_is_received_short_sold_settled_and_paid_on_a_phone(
    page: Page,
    live_url: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(client, actors, session_factory)

    # The UMKM owner proposes 50 at Rp25.000.
    await sign_in(page, live_url, d.owner_phone, PASSWORD)
    await expect(page.get_by_role("heading", name="Barang saya")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, page.url, "/barang-saya")
    await page.get_by_role("link", name="Titip barang", exact=True).click()
    await expect(page.get_by_role("heading", name="Titip barang")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, page.url, "/titip")
    await page.get_by_label("Cari produk menurut nama").fill(d.product_name)
    await page.get_by_role("button", name="Cari", exact=True).click()
    await expect(page).to_have_url(re.compile(r"q="))
    await page.get_by_label("Produk", exact=True).select_option(label=f"{d.product_name} (bungkus)")
    await page.get_by_label("Jumlah").fill("50")
    await page.get_by_label("Harga jual Anda per satuan (Rp)").fill("31000")
    await page.get_by_role("button", name="Ajukan").click()
    await expect(page.locator("#unit_price-error")).to_contain_text("Rp30.000")
    await check_page(page)
    await page.get_by_label("Harga jual Anda per satuan (Rp)").fill("25000")
    await page.get_by_role("button", name="Ajukan").click()
    await expect(page.get_by_text("Menunggu koperasi")).to_be_visible()
    await check_page(page)
    await sign_out(page)

    # The clerk receives 48 of the 50.
    await sign_in(page, live_url, d.clerk_phone, PASSWORD)
    await expect(page.get_by_role("heading", name="Daftar kerja")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, page.url, "/kerja")
    await page.get_by_label("Benar-benar diterima (bungkus)").fill("48")
    await page.get_by_role("button", name="Terima", exact=True).click()
    await expect(
        page.get_by_text("Tidak ada barang titipan yang menunggu diterima.")
    ).to_be_visible()
    await check_page(page)

    # A kitchen orders 10 for tomorrow (the kitchen's own pages are tested on their own).
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    order = await placed_order(
        client,
        d.kitchen,
        order_body(
            [(d.product_id, 10)], date=tomorrow, region_code=d.kitchen.region_code, address="Jl. 3"
        ),
    )
    [leg] = order.legs

    # The clerk ships it; the surat jalan is linked.
    await page.reload()
    await expect(page.get_by_text("SPPG Meja Uji")).to_be_visible()
    await check_page(page)
    await page.get_by_role("button", name="Kirim", exact=True).click()
    note = page.get_by_role("link", name="Surat jalan")
    await expect(note).to_have_attribute("href", f"/dokumen/surat-jalan/{leg.id}.pdf")
    await check_page(page)
    await sign_out(page)

    # The kitchen confirms what arrived.
    await sign_in(page, live_url, d.kitchen_phone, PASSWORD)
    await expect(page.get_by_role("heading", name="Hari ini")).to_be_visible()
    await page.goto(f"{live_url}/pesanan/{order.id}/terima")
    await page.get_by_label("Diterima (bungkus)").fill("10")
    await page.get_by_role("button", name="Konfirmasi diterima").click()
    await expect(page.get_by_text("Diterima 10 pada")).to_be_visible()
    await check_page(page)
    await sign_out(page)
    await run_outbox(session_factory, "order.leg.delivered")  # the worker records the sale

    # The clerk runs the settlement and marks the payout paid.
    await sign_in(page, live_url, d.clerk_phone, PASSWORD)
    await page.get_by_role("link", name="Konsinyasi").click()
    await expect(page.get_by_text("harus dibayar Rp225.000")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, page.url, "/konsinyasi")
    await page.get_by_role("button", name="Jalankan penyelesaian sekarang").click()
    await expect(page.get_by_role("heading", name="Keripik Bu Sri Uji · Rp225.000")).to_be_visible()
    await check_page(page)
    await page.get_by_label("Referensi transfer bank").fill("TRF-225")
    await page.get_by_role("button", name="Tandai lunas").click()
    await expect(page.get_by_text("Tidak ada pembayaran yang menunggu.")).to_be_visible()
    await check_page(page)
    await sign_out(page)

    # The UMKM sees the statement, its PDF linked, and the payout paid.
    await sign_in(page, live_url, d.owner_phone, PASSWORD)
    await expect(page.get_by_text("Terjual minggu ini")).to_be_visible()
    await check_page(page)
    await page.get_by_role("link", name="Pembayaran", exact=True).click()
    await expect(page.get_by_role("heading", name="Kapan saya dibayar")).to_be_visible()
    await expect(page.get_by_text("TRF-225")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, page.url, "/dibayar")
    await page.get_by_role("link", name="Laporan sampai").first.click()
    await expect(page.get_by_role("heading", name="Laporan konsinyasi")).to_be_visible()
    await expect(page.get_by_text("Pembayaran: Sudah dibayar")).to_be_visible()
    pdf = page.get_by_role("link", name="Laporan dalam PDF")
    await expect(pdf).to_have_attribute(
        "href",
        page.url.replace(live_url, "").replace(
            "/laporan-konsinyasi/", "/dokumen/laporan-konsinyasi/"
        )
        + ".pdf",
    )
    await check_page(page)
    await first_load_weight(page, page.url, "/laporan-konsinyasi/{id}")


async def test_the_clerks_stock_and_sales_pages_pass_on_a_phone(
    page: Page,
    live_url: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(client, actors, session_factory)
    await create_listing(client, d.coop, d.product_id, tiers=[(1, 28_000), (20, 27_000)], stock=40)
    await sign_in(page, live_url, d.clerk_phone, PASSWORD)
    await page.get_by_role("link", name="Stok", exact=True).click()
    await check_page(page)
    await first_load_weight(page, page.url, "/stok")
    await page.get_by_role("link", name=d.product_name).click()
    await check_page(page)
    await first_load_weight(page, page.url, "/stok/{id}")
    await page.get_by_label("Hasil hitung di tempat (bungkus)").fill("38")
    await page.get_by_label("Alasan").fill("2 bungkus sobek")
    await page.get_by_role("button", name="Perbaiki stok").click()
    await expect(page.locator("#on-hand")).to_have_text("38")
    await check_page(page)
    await page.get_by_role("link", name="Penjualan", exact=True).click()
    await expect(page.get_by_role("heading", name="Penjualan dan pembelian")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, page.url, "/penjualan")


async def test_the_clerk_receives_and_the_umkm_proposes_with_javascript_off(
    browser: Browser,
    live_url: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(client, actors, session_factory)
    context = await browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    try:
        page = await context.new_page()
        await sign_in(page, live_url, d.owner_phone, PASSWORD)
        await page.goto(f"{live_url}/titip?q={d.product_name}")
        await page.get_by_label("Produk", exact=True).select_option(
            label=f"{d.product_name} (bungkus)"
        )
        await page.get_by_label("Jumlah").fill("50")
        await page.get_by_label("Harga jual Anda per satuan (Rp)").fill("25000")
        await page.get_by_role("button", name="Ajukan").click()
        await expect(page.get_by_text("Menunggu koperasi")).to_be_visible()
        await sign_out(page)
        await sign_in(page, live_url, d.clerk_phone, PASSWORD)
        await page.get_by_label("Benar-benar diterima (bungkus)").fill("48")
        await page.get_by_role("button", name="Terima", exact=True).click()
        await expect(
            page.get_by_text("Tidak ada barang titipan yang menunggu diterima.")
        ).to_be_visible()
        await sign_out(page)
        await sign_in(page, live_url, d.owner_phone, PASSWORD)
        await page.goto(f"{live_url}/titip")
        await expect(page.get_by_text("48 diterima oleh koperasi.")).to_be_visible()
    finally:
        await context.close()
