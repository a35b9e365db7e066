"""`/kota`: a cooperative's administrator records its member count on the page; the office
reads members and growth, shares written the Indonesian way (decimal comma)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import clock
from marketplace.accounts import Role
from tests.builders.reports import city
from tests.support import Actors
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["pages"]


async def test_a_cooperative_records_its_members_and_the_office_reads_them(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    c = await city(actors, pages)
    today = clock.today_in("Asia/Jakarta")
    this_month = f"{today:%Y-%m}"
    year_before = f"{today.year - 1:04d}-{today.month:02d}"
    phone = await member(session_factory, c.coop_a.organization_id, role=Role.ADMIN)
    await sign_in(pages, phone, PASSWORD)
    page = await pages.get("/kota")
    assert page.status_code == 200, page.text
    assert "Simpan jumlah anggota" in page.text
    assert f'value="{this_month}"' in page.text

    async def save(month: str, count: str) -> Any:
        token = token_of((await pages.get("/kota")).text)
        return await pages.post(
            "/kota/anggota",
            data={"csrf_token": token, "count_month": month, "member_count": count},
            follow_redirects=False,
        )

    refused = await save(this_month, "banyak")
    assert refused.status_code == 422
    assert "Tulis jumlah anggota, dari 0 sampai 10.000.000." in refused.text
    future = f"{today.year + 1:04d}-{today.month:02d}"
    refused = await save(future, "10")
    assert refused.status_code == 422
    assert "Catat jumlah bulan ini atau bulan sebelumnya." in refused.text
    saved = await save(year_before, "200")
    assert saved.status_code == 303
    saved = await save(this_month, "1.025")
    assert saved.status_code == 303
    shown = await pages.get(saved.headers["location"])
    assert f"Jumlah anggota {this_month} tersimpan." in shown.text

    # The office: members, a year before, +412,5 % growth; no form of its own.
    pages.cookies.clear()
    office = await member(session_factory, c.office.organization_id, role=Role.VIEWER)
    await sign_in(pages, office, PASSWORD)
    page = await pages.get("/kota")
    assert page.status_code == 200, page.text
    assert "Simpan jumlah anggota" not in page.text
    assert "Target: anggota +20,0 % setahun." in page.text
    assert "Target: omzet +30,0 % setahun." in page.text
    row = page.text.split(f'<tr data-cooperative="{c.coop_a.organization_id}"><th scope="row">')
    members_row = row[-1].split("</tr>")[0]
    assert '<td data-figure="members">1.025</td>' in members_row
    assert '<td data-figure="previous_members">200</td>' in members_row
    assert '<td data-figure="members_growth_bps">412,5 %</td>' in members_row
    # A cooperative's form is not the office's to post.
    token = token_of(page.text)
    posted = await pages.post(
        "/kota/anggota",
        data={"csrf_token": token, "count_month": this_month, "member_count": "5"},
        follow_redirects=False,
    )
    assert posted.status_code == 404
