"""The city office's dashboard on a phone (360x740): a known month's charts render and the
tables hold its numbers; the CSV holds the same."""

from __future__ import annotations

import csv
import io

from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from tests.browser.checks import check_page
from tests.builders.reports import known_month
from tests.support import Actors
from tests.web.people import PASSWORD, member


async def test_the_office_reads_its_cooperatives_month_on_a_phone(
    page: Page,
    live_url: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    c, _bulog = await known_month(client, actors, session_factory)
    phone = await member(session_factory, c.office.organization_id, role=Role.VIEWER)
    await page.goto(f"{live_url}/masuk")
    await page.get_by_label("Nomor telepon").fill(phone)
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url(lambda url: "/masuk" not in url)
    await page.goto(f"{live_url}/kota?from=2026-03&to=2026-03")
    await expect(page.get_by_role("heading", name="Koperasi di kota")).to_be_visible()
    await expect(page.get_by_role("img", name="Omzet per bulan")).to_be_visible()
    await expect(page.get_by_role("img", name="Omzet per koperasi")).to_be_visible()
    assert await page.locator("svg.chart rect").count() == 2  # a bar per cooperative
    months = page.locator("#months tr.total")
    await expect(months.locator('[data-figure="turnover"]')).to_have_text("Rp1.150.000")
    await expect(months.locator('[data-figure="buyers"]')).to_have_text("3")
    await expect(months.locator('[data-figure="growth_bps"]')).to_have_text("858,3 %")
    row_a = page.locator(f'#cooperatives tr[data-cooperative="{c.coop_a.organization_id}"]')
    await expect(row_a.locator('[data-figure="turnover"]')).to_have_text("Rp1.000.000")
    await expect(row_a.locator('[data-figure="consignor_earnings"]')).to_have_text("Rp144.000")
    row_b = page.locator(f'#cooperatives tr[data-cooperative="{c.coop_b.organization_id}"]')
    await expect(row_b.locator('[data-figure="growth_bps"]')).to_have_text(
        "\u2013"
    )  # no year before: no growth
    await check_page(page)

    answer = await page.request.get(f"{live_url}/kota/koperasi.csv?from=2026-03&to=2026-03")
    assert answer.status == 200
    rows = list(csv.DictReader(io.StringIO(await answer.text())))
    totals = {r["cooperative_id"]: r for r in rows if r["month"] == "total"}
    assert totals[str(c.coop_a.organization_id)]["turnover"] == "1000000"
    assert totals[str(c.coop_b.organization_id)]["turnover"] == "150000"
    by_month = await page.request.get(f"{live_url}/kota/bulan.csv?from=2026-03&to=2026-03")
    [march, total] = list(csv.DictReader(io.StringIO(await by_month.text())))
    assert (march["month"], march["turnover"], total["buyers"]) == ("2026-03", "1150000", "3")
