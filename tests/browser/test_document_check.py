"""The page a paper's QR code opens, in Chromium at 360x740: a genuine surat jalan's facts
and the way to its receiving page; a forged code's "not found"."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.browser.checks import check_page, first_load_weight
from tests.builders.documents import read_pdf
from tests.support import Actors
from tests.web.journey import kitchen_journey, shipped_order
from tests.web.people import PASSWORD


async def test_a_phone_checks_a_delivery_note_by_its_qr_code(
    page: Page,
    live_url: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(client, actors, session_factory)
    order = await shipped_order(client, journey, 20)
    answer = await client.get(
        f"/v1/legs/{order.legs[0].id}/delivery-note/document.pdf",
        headers=journey.cooperative.headers,
    )
    assert answer.status_code == 200, answer.text
    [code] = read_pdf(answer.content).qr_codes
    path = urlsplit(code).path

    await page.goto(f"{live_url}{path}")
    await expect(page.get_by_role("heading", name="Dokumen ini asli")).to_be_visible()
    await expect(page.get_by_text("Koperasi Merah Putih Uji")).to_be_visible()
    await expect(page.get_by_text("Rp1.250.000")).to_be_visible()  # 20 at Rp62.500
    await check_page(page)
    await first_load_weight(page, page.url, "/cek/{token}")
    # The kitchen signs in first, and lands on the order's receiving page.
    await page.get_by_role("link", name="Konfirmasi penerimaan kiriman ini").click()
    await page.get_by_label("Nomor telepon").fill(journey.phone)
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page).to_have_url(f"{live_url}/pesanan/{order.id}/terima")
    await expect(page.get_by_role("heading", name="Penerimaan pesanan")).to_be_visible()

    forged = path[:-1] + ("A" if path[-1] != "A" else "B")  # one character changed
    await page.goto(f"{live_url}{forged}")
    await expect(page.get_by_role("heading", name="Dokumen tidak ditemukan")).to_be_visible()
    await check_page(page)
