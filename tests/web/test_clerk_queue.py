"""The cooperative clerk's work queue over HTTP: an intake received short or refused with
its reason, a leg shipped, consigned goods handed back; another organization's objects are
not found and a viewer cannot act."""

from __future__ import annotations

import datetime as dt

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.consignment.models import Intake
from marketplace.orders.models import OrderLeg
from tests.builders.consignment import intake_body, post_intake
from tests.builders.orders import order_body, placed_order
from tests.support import Actors, local_today
from tests.web.desk import desk
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["pages"]


async def intake_row(factory: async_sessionmaker[AsyncSession], intake_id: str) -> Intake:
    async with factory() as session:
        row = await session.scalar(select(Intake).where(Intake.id == intake_id))
        assert row is not None
        return row


async def leg_status(factory: async_sessionmaker[AsyncSession], leg_id: str) -> str:
    async with factory() as session:
        leg = await session.scalar(select(OrderLeg).where(OrderLeg.id == leg_id))
        assert leg is not None
        return str(leg.status)


async def test_the_clerk_receives_48_of_50_refuses_one_and_ships_a_leg(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory)
    proposed = []
    for quantity in (50, 20):
        answer = await post_intake(
            pages,
            d.umkm,
            intake_body(d.agreement_id, d.product_id, quantity=quantity, unit_price=25_000),
        )
        assert answer.status_code == 201, answer.text
        proposed.append(answer.json()["id"])
    first, second = proposed
    await sign_in(pages, d.clerk_phone, PASSWORD)
    queue = await pages.get("/kerja")
    assert queue.status_code == 200
    assert "Barang titipan yang harus diterima" in queue.text
    assert "50 diajukan oleh Keripik Bu Sri Uji seharga Rp25.000 per satuan" in queue.text
    token = token_of(queue.text)
    too_many = await pages.post(
        f"/kerja/titipan/{first}/terima", data={"csrf_token": token, f"received-{first}": "51"}
    )
    assert too_many.status_code == 422
    assert "Hanya 50 yang diajukan" in too_many.text
    assert (await intake_row(session_factory, first)).status == "proposed"
    received = await pages.post(
        f"/kerja/titipan/{first}/terima", data={"csrf_token": token, f"received-{first}": "48"}
    )
    assert received.status_code == 200
    row = await intake_row(session_factory, first)
    assert (row.status, row.received_quantity) == ("confirmed", 48)
    empty = await pages.post(
        f"/kerja/titipan/{second}/tolak", data={"csrf_token": token, f"reason-{second}": " "}
    )
    assert empty.status_code == 422
    assert "Tulis alasan barang ditolak." in empty.text
    refused = await pages.post(
        f"/kerja/titipan/{second}/tolak",
        data={"csrf_token": token, f"reason-{second}": "Kemasan rusak"},
    )
    assert refused.status_code == 200
    row = await intake_row(session_factory, second)
    assert (row.status, row.reject_reason) == ("rejected", "Kemasan rusak")

    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    order = await placed_order(
        pages,
        d.kitchen,
        order_body(
            [(d.product_id, 10)], date=tomorrow, region_code=d.kitchen.region_code, address="Jl. 1"
        ),
    )
    [leg] = order.legs
    queue = await pages.get("/kerja")
    assert "SPPG Meja Uji" in queue.text
    assert f'action="/kerja/kirim/{leg.id}"' in queue.text
    shipped = await pages.post(f"/kerja/kirim/{leg.id}", data={"csrf_token": token})
    assert shipped.status_code == 200
    assert await leg_status(session_factory, leg.id) == "shipped"
    assert f'href="/dokumen/surat-jalan/{leg.id}.pdf"' in shipped.text
    assert f'href="/dokumen/faktur/{order.id}.pdf"' in shipped.text
    again = await pages.post(f"/kerja/kirim/{leg.id}", data={"csrf_token": token})
    assert again.status_code == 409

    # Another cooperative's clerk: the same intake and leg are not found, nothing changes.
    other = await actors.org("cooperative", name="Koperasi Lain Meja")
    pages.cookies.clear()
    stranger = await member(session_factory, other.organization_id, role=Role.ADMIN)
    await sign_in(pages, stranger, PASSWORD)
    token = token_of((await pages.get("/kerja")).text)
    for action, data in [
        (f"/kerja/titipan/{first}/tolak", {f"reason-{first}": "x"}),
        (f"/kerja/titipan/{first}/terima", {f"received-{first}": "1"}),
        (f"/kerja/titipan/{first}/kembalikan", {f"return-{first}": "1"}),
        (f"/kerja/kirim/{leg.id}", {}),
    ]:
        answer = await pages.post(action, data={"csrf_token": token, **data})
        assert answer.status_code == 404, action
    assert (await intake_row(session_factory, first)).received_quantity == 48


async def test_a_viewer_of_the_cooperative_sees_the_queue_but_cannot_act(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory, clerk_role=Role.VIEWER)
    answer = await post_intake(
        pages, d.umkm, intake_body(d.agreement_id, d.product_id, quantity=5, unit_price=25_000)
    )
    intake_id = answer.json()["id"]
    await sign_in(pages, d.clerk_phone, PASSWORD)
    queue = await pages.get("/kerja")
    assert queue.status_code == 200
    refused = await pages.post(
        f"/kerja/titipan/{intake_id}/terima",
        data={"csrf_token": token_of(queue.text), f"received-{intake_id}": "5"},
    )
    assert refused.status_code == 403
    assert "Peran Anda tidak boleh melakukan ini." in refused.text
    assert (await intake_row(session_factory, intake_id)).status == "proposed"


async def test_the_clerk_hands_back_goods_about_to_expire(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory)
    soon = local_today() + dt.timedelta(days=3)
    answer = await post_intake(
        pages,
        d.coop,
        intake_body(d.agreement_id, d.product_id, quantity=8, unit_price=25_000, expiry_date=soon),
    )
    assert answer.status_code == 201, answer.text
    intake_id = answer.json()["id"]
    await sign_in(pages, d.clerk_phone, PASSWORD)
    queue = await pages.get("/kerja")
    assert "Barang titipan yang harus dikembalikan" in queue.text
    assert f'name="return-{intake_id}" inputmode="numeric" value="8"' in queue.text
    token = token_of(queue.text)
    too_many = await pages.post(
        f"/kerja/titipan/{intake_id}/kembalikan",
        data={"csrf_token": token, f"return-{intake_id}": "9"},
    )
    assert too_many.status_code == 422
    assert (await intake_row(session_factory, intake_id)).returned_quantity == 0
    handed = await pages.post(
        f"/kerja/titipan/{intake_id}/kembalikan",
        data={
            "csrf_token": token,
            f"return-{intake_id}": "8",
            f"return-reason-{intake_id}": "Hampir kedaluwarsa",
        },
    )
    assert handed.status_code == 200
    assert (await intake_row(session_factory, intake_id)).returned_quantity == 8
    assert "Tidak ada barang titipan yang kedaluwarsa minggu ini." in handed.text
    # A lot or an intake of no one is not found.
    for action in ("/kerja/lot/{}/terima", "/kerja/titipan/{}/kembalikan"):
        missing = await pages.post(
            action.format("01a23b99-0000-7000-8000-000000000000"),
            data={"csrf_token": token, "lot-01a23b99-0000-7000-8000-000000000000": "1"},
        )
        assert missing.status_code in (404, 422), action
