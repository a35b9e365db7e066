"""The demo clerk and the demo UMKM owner have something to see: goods waiting to be
received, a delivery to ship, a statement with its payout; seeding again adds nothing."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.consignment.models import Intake, Statement
from marketplace.demo import DEMO_PASSWORD, seed_demo, seed_demo_people
from marketplace.demo_desk import seed_demo_desk
from tests.support import ServiceUrls
from tests.web.test_journey import pages
from tests.web.test_pages import sign_in

__all__ = ["pages"]


async def counts(factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with factory() as session:
        intakes = await session.scalar(select(func.count()).select_from(Intake))
        statements = await session.scalar(select(func.count()).select_from(Statement))
        return int(intakes or 0), int(statements or 0)


async def test_the_demo_clerk_and_umkm_owner_see_their_work(
    service_urls: ServiceUrls,
    session_factory: async_sessionmaker[AsyncSession],
    pages: AsyncTestClient[Litestar],
) -> None:
    await seed_demo(service_urls.database_url)
    people = {slug: phone for slug, _, phone in await seed_demo_people(service_urls.database_url)}
    before = await counts(session_factory)
    made, (_, role, treasurer) = await seed_demo_desk(service_urls.database_url)
    assert role == "finance"
    after = await counts(session_factory)
    if made:  # another test of this database may have seeded it first
        assert after == (before[0] + 2, before[1] + 1)
    assert (await seed_demo_desk(service_urls.database_url))[0] is False
    assert await counts(session_factory) == after

    await sign_in(pages, people["kkmp-blooto"], DEMO_PASSWORD)
    queue = await pages.get("/kerja")
    assert "30 diajukan oleh Tempe Bu Sri" in queue.text
    assert "SPPG Mojokerto Prajurit Kulon 1" in queue.text
    assert 'action="/kerja/kirim/' in queue.text
    pages.cookies.clear()
    await sign_in(pages, treasurer, DEMO_PASSWORD)  # the treasurer may transfer payouts
    desk = await pages.get("/konsinyasi")
    assert "Tempe Bu Sri · Rp74.250" in desk.text  # 15 at Rp5.500 less 10%
    assert "/lunas" in desk.text
    pages.cookies.clear()
    await sign_in(pages, people["umkm-tempe-bu-sri"], DEMO_PASSWORD)
    goods = await pages.get("/barang-saya")
    assert "KKMP Blooto" in goods.text
    paid = await pages.get("/dibayar")
    assert "Pembayaran Rp74.250" in paid.text
    assert "Belum dibayar" in paid.text
