"""The UMKM owner's pages over HTTP, and the clerk's consignment page: an intake proposed
(a price above the cap refused at once, next to the price), received short, sold, settled
and paid; the statement is its two parties' only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.consignment.models import Intake, Payout, Statement
from tests.api.test_consignment import run_outbox
from tests.builders.catalog import create_product
from tests.builders.orders import order_body, placed_order
from tests.support import Actors, local_today
from tests.web.desk import Desk, desk
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["pages"]

STATEMENT = re.compile(r'href="/laporan-konsinyasi/([0-9a-f-]{36})"')


async def intakes_of(factory: async_sessionmaker[AsyncSession], d: Desk) -> int:
    async with factory() as session:
        query = select(func.count()).select_from(Intake)
        return int(
            await session.scalar(query.where(Intake.consignor_id == d.umkm.organization_id)) or 0
        )


async def sold_and_delivered(
    client: AsyncTestClient[Litestar], d: Desk, factory: async_sessionmaker[AsyncSession], n: int
) -> None:
    """The kitchen orders `n` for tomorrow; the cooperative ships; all arrive; the sale is
    recorded (the worker's outbox handler, run here)."""
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    order = await placed_order(
        client,
        d.kitchen,
        order_body(
            [(d.product_id, n)], date=tomorrow, region_code=d.kitchen.region_code, address="Jl. 2"
        ),
    )
    [leg] = order.legs
    shipped = await client.post(f"/v1/legs/{leg.id}/ship", headers=d.coop.headers)
    assert shipped.status_code == 200, shipped.text
    delivered = await client.post(
        f"/v1/legs/{leg.id}/deliver", json={"received_quantity": n}, headers=d.kitchen.headers
    )
    assert delivered.status_code == 200, delivered.text
    await run_outbox(factory, "order.leg.delivered")


async def test_a_umkm_proposes_is_received_short_sold_settled_and_paid(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory)
    await sign_in(pages, d.owner_phone, PASSWORD)
    form = await pages.get("/titip")
    assert form.status_code == 200
    assert "Koperasi Meja Uji" in form.text
    searched = await pages.get("/titip", params={"q": d.product_name})
    assert f'value="{d.product_id}"' in searched.text
    nothing = await pages.get("/titip", params={"q": "tidak ada barang seperti ini"})
    assert f'value="{d.product_id}"' not in nothing.text
    token = token_of(form.text)
    fields = {"csrf_token": token, "agreement_id": d.agreement_id, "product_id": d.product_id}
    above = await pages.post("/titip", data={**fields, "quantity": "50", "unit_price": "31000"})
    assert above.status_code == 422
    assert 'id="unit_price-error"' in above.text
    assert "Harga melebihi harga eceran tertinggi (HET) Rp30.000 di wilayah ini." in above.text
    assert await intakes_of(session_factory, d) == 0
    bad = await pages.post("/titip", data={**fields, "quantity": "nol", "unit_price": "25000"})
    assert bad.status_code == 422
    assert "Tulis jumlahnya: bilangan bulat, 1 atau lebih." in bad.text
    proposed = await pages.post("/titip", data={**fields, "quantity": "50", "unit_price": "25000"})
    assert proposed.status_code == 200
    assert "Menunggu koperasi" in proposed.text
    assert await intakes_of(session_factory, d) == 1

    pages.cookies.clear()
    await sign_in(pages, d.clerk_phone, PASSWORD)
    queue = await pages.get("/kerja")
    async with session_factory() as session:
        intake_id = await session.scalar(
            select(Intake.id).where(Intake.consignor_id == d.umkm.organization_id)
        )
    received = await pages.post(
        f"/kerja/titipan/{intake_id}/terima",
        data={"csrf_token": token_of(queue.text), f"received-{intake_id}": "48"},
    )
    assert received.status_code == 200

    pages.cookies.clear()
    await sign_in(pages, d.owner_phone, PASSWORD)
    mine = await pages.get("/titip")
    assert "48 diterima oleh koperasi." in mine.text
    goods = await pages.get("/barang-saya")
    assert re.search(r"Stok di tempat</dt><dd>48</dd>", goods.text), goods.text

    await sold_and_delivered(pages, d, session_factory, 10)
    goods = await pages.get("/barang-saya")
    assert re.search(r"Stok di tempat</dt><dd>38</dd>", goods.text)
    assert re.search(r"Terjual minggu ini</dt><dd>10</dd>", goods.text)
    assert re.search(r"Terjual siklus ini</dt><dd>10</dd>", goods.text)
    paid_when = await pages.get("/dibayar")
    assert "Penyelesaian berikutnya:" in paid_when.text
    assert "Rp250.000" in paid_when.text  # gross: 10 at Rp25.000
    assert "-Rp25.000" in paid_when.text  # 10% commission
    assert "Akan dibayar sejauh ini: Rp225.000" in paid_when.text
    assert "Belum ada laporan." in paid_when.text

    pages.cookies.clear()
    await sign_in(pages, d.clerk_phone, PASSWORD)
    desk_page = await pages.get("/konsinyasi")
    assert "harus dibayar Rp225.000" in desk_page.text
    settled = await pages.post(
        "/konsinyasi/penyelesaian", data={"csrf_token": token_of(desk_page.text)}
    )
    assert settled.status_code == 200
    async with session_factory() as session:
        payout = await session.scalar(
            select(Payout).where(Payout.consignor_id == d.umkm.organization_id)
        )
        assert payout is not None
        assert payout.amount == 225_000
    action = f"/konsinyasi/pembayaran/{payout.id}/lunas"
    assert f'action="{action}"' in settled.text
    empty = await pages.post(action, data={"csrf_token": token_of(settled.text)})
    assert empty.status_code == 422
    paid = await pages.post(
        action, data={"csrf_token": token_of(settled.text), f"reference-{payout.id}": "TRF-001"}
    )
    assert paid.status_code == 200
    assert "Tidak ada pembayaran yang menunggu." in paid.text

    pages.cookies.clear()
    await sign_in(pages, d.owner_phone, PASSWORD)
    paid_when = await pages.get("/dibayar")
    [statement_id] = set(STATEMENT.findall(paid_when.text))
    assert "Sudah dibayar" in paid_when.text
    assert "TRF-001" in paid_when.text
    detail = await pages.get(f"/laporan-konsinyasi/{statement_id}")
    assert detail.status_code == 200
    assert "Rp225.000" in detail.text
    assert f'href="/dokumen/laporan-konsinyasi/{statement_id}.pdf"' in detail.text
    assert "Pembayaran: Sudah dibayar" in detail.text

    # Another UMKM: the statement is not found.
    other = await actors.org("umkm", "seller", name="UMKM Lain Meja")
    pages.cookies.clear()
    await sign_in(
        pages, await member(session_factory, other.organization_id, role=Role.SELLER), PASSWORD
    )
    assert (await pages.get(f"/laporan-konsinyasi/{statement_id}")).status_code == 404
    token = token_of((await pages.get("/barang-saya")).text)
    answer = await pages.post(action, data={"csrf_token": token, f"reference-{payout.id}": "X"})
    assert answer.status_code == 404


async def test_a_viewer_of_the_cooperative_cannot_run_a_settlement(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory, clerk_role=Role.VIEWER)
    await sign_in(pages, d.clerk_phone, PASSWORD)
    page = await pages.get("/konsinyasi")
    assert page.status_code == 200
    refused = await pages.post("/konsinyasi/penyelesaian", data={"csrf_token": token_of(page.text)})
    assert refused.status_code == 403
    assert "Peran Anda tidak boleh melakukan ini." in refused.text
    async with session_factory() as session:
        query = select(func.count()).select_from(Statement)
        assert (
            await session.scalar(query.where(Statement.cooperative_id == d.coop.organization_id))
            == 0
        )


async def test_the_clerk_makes_an_agreement_and_a_viewer_of_the_umkm_cannot_propose(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory)
    newcomer = await actors.org(
        "umkm", "seller", region_code="35.76.02.1001", name="Sambal Pak Darto Uji"
    )
    await sign_in(pages, d.clerk_phone, PASSWORD)
    page = await pages.get("/konsinyasi")
    assert "Sambal Pak Darto Uji" in page.text
    token = token_of(page.text)
    form = {
        "csrf_token": token,
        "consignor_id": str(newcomer.organization_id),
        "commission": "12,5",
        "cycle": "14",
        "bank": "BNI",
        "account": "12ab",
        "holder": "Darto",
    }
    bad = await pages.post("/konsinyasi/perjanjian", data=form)
    assert bad.status_code == 422
    assert "Tulis nomor rekening: 6 sampai 20 angka." in bad.text
    made = await pages.post("/konsinyasi/perjanjian", data={**form, "account": "1234567890"})
    assert made.status_code == 200
    assert "Komisi 12,5%, diselesaikan setiap 14 hari" in made.text
    again = await pages.post("/konsinyasi/perjanjian", data={**form, "account": "1234567890"})
    assert again.status_code in (409, 422)

    viewer = await member(session_factory, d.umkm.organization_id, role=Role.VIEWER)
    pages.cookies.clear()
    await sign_in(pages, viewer, PASSWORD)
    propose = await pages.get("/titip")
    refused = await pages.post(
        "/titip",
        data={
            "csrf_token": token_of(propose.text),
            "agreement_id": d.agreement_id,
            "product_id": d.product_id,
            "quantity": "5",
            "unit_price": "25000",
        },
    )
    assert refused.status_code == 422
    assert "Peran Anda tidak boleh melakukan ini." in refused.text
    assert await intakes_of(session_factory, d) == 0


async def test_a_refused_proposal_keeps_its_product_chosen_beyond_the_first_page_of_products(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The form posts without the search that found the product: shown again, it must
    still name that product, or the next send proposes the first product listed."""
    from marketplace.web.consignor import controller

    # An older product, listed first (by id) when one is shown without a search.
    await create_product(pages, await actors.platform_admin(), name="Gula Uji Lebih Dulu")
    d = await desk(pages, actors, session_factory)
    monkeypatch.setattr(controller, "PRODUCTS_SHOWN", 1)
    await sign_in(pages, d.owner_phone, PASSWORD)
    form = await pages.get("/titip")
    assert f'value="{d.product_id}"' not in form.text
    fields = {
        "csrf_token": token_of(form.text),
        "agreement_id": d.agreement_id,
        "product_id": d.product_id,
    }
    above = await pages.post("/titip", data={**fields, "quantity": "50", "unit_price": "31000"})
    assert above.status_code == 422
    assert f'<option value="{d.product_id}" selected>' in above.text
