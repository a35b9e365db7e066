"""The clerk receives a Bulog lot from the work queue; the kitchen's leg it was waiting for
can then be shipped from the same queue."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.procurement.lots.models import BulogLot
from tests.api.test_procurement_lots import LotWorld, lot_world, open_lot_of, order_body, place
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["lot_world", "pages"]


async def test_the_clerk_receives_a_bulog_lot_and_ships_the_leg_it_released(
    pages: AsyncTestClient[Litestar],
    lot_world: LotWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    w = lot_world
    placed = await place(pages, w.kitchens[0], order_body(w.rice.id, 10))
    assert placed.status_code == 201, placed.text
    [leg] = placed.json()["legs"]
    lot = await open_lot_of(pages, w.coop, w.rice.id)
    submitted = await pages.post(
        f"/v1/procurement/bulog-lots/{lot['id']}/submit", headers=w.coop.headers
    )
    assert submitted.status_code == 200, submitted.text
    clerk = await member(session_factory, w.coop.organization_id, role=Role.SELLER)
    await sign_in(pages, clerk, PASSWORD)
    queue = await pages.get("/kerja")
    assert "200 dipesan dari Bulog" in queue.text
    token = token_of(queue.text)
    early = await pages.post(f"/kerja/kirim/{leg['id']}", data={"csrf_token": token})
    assert early.status_code == 409
    assert "Kiriman ini baru bisa dikirim setelah lot Bulog-nya diterima." in early.text
    action = f"/kerja/lot/{lot['id']}/terima"
    too_many = await pages.post(action, data={"csrf_token": token, f"lot-{lot['id']}": "201"})
    assert too_many.status_code == 422
    assert "Itu lebih dari jumlah yang dipesan lot ini." in too_many.text
    received = await pages.post(action, data={"csrf_token": token, f"lot-{lot['id']}": "200"})
    assert received.status_code == 200
    assert "Tidak ada lot Bulog yang sedang dikirim." in received.text
    async with session_factory() as session:
        row = await session.scalar(select(BulogLot).where(BulogLot.id == lot["id"]))
        assert row is not None
        assert row.received_quantity == 200
    shipped = await pages.post(f"/kerja/kirim/{leg['id']}", data={"csrf_token": token})
    assert shipped.status_code == 200
    assert f'href="/dokumen/surat-jalan/{leg["id"]}.pdf"' in shipped.text
