"""The kitchen's two-weekly report in Chromium at 360x740: from the budget period to its
report, whose figures fit a phone, and one tap downloads the PDF bundle whose text holds
every delivery and its BAST number."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.web.formats import rupiah
from tests.browser.checks import check_page
from tests.builders.documents import read_pdf
from tests.builders.fortnight import fortnight
from tests.support import Actors
from tests.web.people import PASSWORD, member


async def test_a_kitchen_downloads_its_two_weekly_bundle_on_a_phone(
    page: Page,
    live_url: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    world = await fortnight(client, actors)
    phone = await member(session_factory, world.kitchen.organization_id, name="Bu Ratna")
    budget = f"/anggaran/{world.period_id}"
    await page.goto(f"{live_url}/masuk")
    await page.get_by_label("Nomor telepon").fill(phone)
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page).to_have_url(f"{live_url}/hari-ini")
    await page.goto(f"{live_url}{budget}")
    await check_page(page)
    await page.get_by_role("link", name="Laporan dua mingguan").click()
    await expect(page.get_by_role("heading", name="Laporan dua mingguan")).to_be_visible()
    figures = page.locator("#report-figures")
    await expect(figures).to_contain_text(rupiah(world.spent))
    await expect(figures).to_contain_text("4 dari minimal 15")
    await expect(figures).to_contain_text("kurang 11 pemasok")
    await expect(page.locator("#deliveries > li")).to_have_count(len(world.delivered))
    await check_page(page)

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Unduh laporan (PDF)").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".pdf")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    text = read_pdf(saved.read_bytes()).text
    assert "Laporan Dua Mingguan" in text
    shown = await page.locator("#deliveries a").all_inner_texts()
    assert len(shown) == len(world.delivered)
    for label in shown:
        number = label.removeprefix("BAST ").strip()
        assert text.count(number) >= 2, number  # in the list and on its own BAST
    for _leg, key, *_rest in world.delivered:
        assert world.suppliers[key].name in text
        assert world.suppliers[key].product_name in text

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Unduh daftar penerimaan (CSV)").click()
    sheet = await downloading.value
    assert sheet.suggested_filename.endswith(".csv")
