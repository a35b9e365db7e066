"""The two-weekly report's page: a kitchen's person sees its figures and deliveries with
their BAST numbers, downloads the PDF and the CSV; a bad range is the form again; another
kitchen's period is not found."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlencode

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.web.formats import rupiah
from tests.builders.documents import read_pdf
from tests.builders.fortnight import fortnight
from tests.support import Actors
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages
from tests.web.test_pages import sign_in

__all__ = ["pages"]


async def test_a_kitchen_reads_its_two_weekly_report_and_downloads_it(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await fortnight(pages, actors)
    phone = await member(session_factory, world.kitchen.organization_id, name="Bu Ratna")
    await sign_in(pages, phone, PASSWORD)
    # Without a query: the latest budget period.
    page = await pages.get("/laporan")
    assert page.status_code == 200, page.text
    assert "Laporan dua mingguan" in page.text
    assert f"Terpakai {rupiah(world.spent)} dari {rupiah(world.envelope)}" in page.text
    assert "4 dari minimal 15" in page.text
    assert "kurang 11 pemasok" in page.text
    cooperatives = world.amount("coop") + world.amount("coop_far")
    assert rupiah(cooperatives) in page.text
    assert rupiah(world.amount("umkm")) in page.text
    for leg, key, *_rest in world.delivered:
        assert f"/dokumen/bast/{leg}.pdf" in page.text
        assert world.suppliers[key].name in page.text
    for leg in world.outside + world.not_received:
        assert leg not in page.text
    query = urlencode({"periode": world.period_id})
    assert f"/laporan/dua-mingguan.pdf?{query}" in page.text
    # The budget period's page links to its report.
    budget = await pages.get(f"/anggaran/{world.period_id}")
    assert f"/laporan?periode={world.period_id}" in budget.text

    pdf = await pages.get(f"/laporan/dua-mingguan.pdf?{query}")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = read_pdf(pdf.content).text
    numbers = [n for n in text.split() if n.startswith("BAST/")]
    assert len(set(numbers)) == len(world.delivered)
    for number in set(numbers):
        assert f"BAST {number}" in page.text  # the page shows the same numbers

    dates = {"dari": world.start.isoformat(), "sampai": world.end.isoformat()}
    by_dates = await pages.get(f"/laporan?{urlencode(dates)}")
    assert by_dates.status_code == 200
    assert f"Terpakai {rupiah(world.spent)}" in by_dates.text
    sheet = await pages.get(f"/laporan/dua-mingguan.csv?{urlencode(dates)}")
    assert sheet.status_code == 200
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert sorted(r["id_leg"] for r in rows) == sorted(leg for leg, *_ in world.delivered)
    assert {r["no_bast"] for r in rows} == set(numbers)
    assert sum(int(r["jumlah_rp"]) for r in rows) == world.spent


async def test_bad_ranges_are_the_form_again_and_another_kitchen_sees_nothing(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await fortnight(pages, actors)
    phone = await member(session_factory, world.kitchen.organization_id)
    await sign_in(pages, phone, PASSWORD)
    day = world.start
    for dates, said in [
        ({"dari": "besok", "sampai": day.isoformat()}, "Tulis hari ini sebagai tanggal."),
        (
            {"dari": day.isoformat(), "sampai": (day - dt.timedelta(days=1)).isoformat()},
            "Pilih hari terakhir pada atau setelah hari pertama",
        ),
        (
            {"dari": day.isoformat(), "sampai": (day + dt.timedelta(days=40)).isoformat()},
            "paling lama 31 hari",
        ),
    ]:
        refused = await pages.get(f"/laporan?{urlencode(dates)}")
        assert refused.status_code == 422, dates
        assert said in refused.text
        download = await pages.get(
            f"/laporan/dua-mingguan.pdf?{urlencode(dates)}", follow_redirects=False
        )
        assert download.status_code in {302, 303}
        assert download.headers["location"].startswith("/laporan?")
    unknown = await pages.get("/laporan?periode=bukan-id")
    assert unknown.status_code == 404
    # Another kitchen's person: the period's report, PDF and CSV are not found.
    other = await actors.org("kitchen", name="SPPG Lain Laporan")
    pages.cookies.clear()
    await sign_in(pages, await member(session_factory, other.organization_id), PASSWORD)
    query = urlencode({"periode": world.period_id})
    for path in ("/laporan", "/laporan/dua-mingguan.pdf", "/laporan/dua-mingguan.csv"):
        hidden = await pages.get(f"{path}?{query}")
        assert hidden.status_code == 404, path
        assert "Tidak ditemukan" in hidden.text
    # Its own report (no period yet): the last two weeks, nothing received.
    own = await pages.get("/laporan")
    assert own.status_code == 200
    assert "Belum ada yang diterima." in own.text
    assert "Tidak ada periode anggaran pada hari-hari ini." in own.text
    assert "Sisa" not in own.text
    # A cooperative's person has no kitchen: not found.
    pages.cookies.clear()
    coop = world.suppliers["coop"].actor
    await sign_in(pages, await member(session_factory, coop.organization_id), PASSWORD)
    assert (await pages.get("/laporan")).status_code == 404
