"""Budget periods over HTTP: created from portions per age band, listed, the usage report."""

from __future__ import annotations

import datetime as dt
import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.orders.models import BudgetPeriod
from tests.support import Actors, local_today
from tests.web.journey import kitchen_journey
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["pages"]


async def periods_of(factory: async_sessionmaker[AsyncSession], kitchen: uuid.UUID) -> int:
    async with factory() as session:
        count = select(func.count()).select_from(BudgetPeriod)
        return int(
            await session.scalar(count.where(BudgetPeriod.kitchen_organization_id == kitchen)) or 0
        )


async def test_a_kitchen_creates_a_budget_period_lists_it_and_reads_its_report(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    kitchen = journey.kitchen.organization_id
    await sign_in(pages, journey.phone, PASSWORD)
    listed = await pages.get("/anggaran")
    assert listed.status_code == 200
    assert "Terpakai Rp0 dari Rp10.000.000" in listed.text
    token = token_of(listed.text)
    later = (local_today() + dt.timedelta(days=30)).isoformat()
    for form, said in [
        ({"start": "besok", "days": "10", "small": "50"}, "Tulis hari pertama sebagai tanggal."),
        ({"start": later, "days": "40", "small": "50"}, "Tulis jumlah hari operasional"),
        ({"start": later, "days": "10", "small": "-5"}, "Tulis porsi per hari: bilangan bulat"),
        ({"start": later, "days": "10"}, "paling sedikit satu kelompok usia"),
        (
            {"start": local_today().isoformat(), "days": "10", "small": "5"},
            "Periode ini bertumpang tindih dengan periode anggaran lain dapur ini.",
        ),
    ]:
        refused = await pages.post("/anggaran", data={"csrf_token": token, **form})
        assert refused.status_code == 422, form
        assert said in refused.text
        assert await periods_of(session_factory, kitchen) == 1
    made = await pages.post(
        "/anggaran",
        data={"csrf_token": token, "start": later, "days": "10", "small": "50", "large": "100"},
    )
    assert made.status_code == 200
    # 10 days x (50 x Rp8.000 + 100 x Rp10.000) = Rp14.000.000
    assert "Terpakai Rp0 dari Rp14.000.000" in made.text
    assert "50 \u00d7 Rp8.000" in made.text
    assert "100 \u00d7 Rp10.000" in made.text
    assert await periods_of(session_factory, kitchen) == 2
    listed = await pages.get("/anggaran")
    assert "Rp14.000.000" in listed.text
    assert "Rp10.000.000" in listed.text
    report_path = str(made.url.path)
    # Another kitchen's person: the report is not found.
    other = await actors.org("kitchen", name="SPPG Lain Anggaran")
    pages.cookies.clear()
    await sign_in(pages, await member(session_factory, other.organization_id), PASSWORD)
    hidden = await pages.get(report_path)
    assert hidden.status_code == 404
    assert "Tidak ditemukan" in hidden.text


async def test_a_viewer_may_not_create_a_budget_period(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory, role=Role.VIEWER)
    await sign_in(pages, journey.phone, PASSWORD)
    listed = await pages.get("/anggaran")
    later = (local_today() + dt.timedelta(days=30)).isoformat()
    refused = await pages.post(
        "/anggaran",
        data={"csrf_token": token_of(listed.text), "start": later, "days": "10", "small": "5"},
    )
    assert refused.status_code == 422
    assert "Peran Anda tidak boleh membuat periode anggaran." in refused.text
    assert await periods_of(session_factory, journey.kitchen.organization_id) == 1
