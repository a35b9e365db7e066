"""Documents on the pages: a signed-in kitchen prints its papers; others find nothing."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from tests.builders.documents import read_pdf
from tests.support import Actors
from tests.web.journey import kitchen_journey, shipped_order
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["pages"]


async def test_a_kitchen_prints_the_delivery_note_bast_and_invoice_of_its_order(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory, role=Role.VIEWER)
    order = await shipped_order(pages, journey, 20)
    leg = order.legs[0]
    note = f"/dokumen/surat-jalan/{leg.id}.pdf"
    signed_out = await pages.get(note, follow_redirects=False)
    assert signed_out.status_code in (302, 303, 307)
    assert signed_out.headers["location"] == f"/masuk?next=%2Fdokumen%2Fsurat-jalan%2F{leg.id}.pdf"
    await sign_in(pages, journey.phone, PASSWORD)
    detail = await pages.get(f"/pesanan/{order.id}")
    assert f'href="{note}"' in detail.text
    assert f'href="/dokumen/bast/{leg.id}.pdf"' not in detail.text
    # A viewer reads papers (nothing here is an act).
    answer = await pages.get(note)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    paper = read_pdf(answer.content)
    assert "SURAT JALAN" in paper.text
    assert journey.product_name in paper.text
    [code] = paper.qr_codes
    # Not received yet: no BAST, no invoice (the problem page says why).
    for early in (f"/dokumen/bast/{leg.id}.pdf", f"/dokumen/faktur/{order.id}.pdf"):
        refused = await pages.get(early)
        assert refused.status_code == 409, early
        assert "text/html" in refused.headers["content-type"]
    # The QR code's page links the kitchen to its receiving page.
    check = await pages.get(urlsplit(code).path)
    assert f'href="/pesanan/{order.id}/terima"' in check.text
    # The kitchen's buyer receives the goods: the BAST and the invoice print.
    received = await pages.post(
        f"/v1/legs/{leg.id}/deliver",
        json={"received_quantity": 18},
        headers=journey.kitchen.headers,
    )
    assert received.status_code == 200, received.text
    bast = await pages.get(f"/dokumen/bast/{leg.id}.pdf")
    assert bast.status_code == 200
    assert "dikirim 20, diterima 18" in read_pdf(bast.content).text
    invoice = await pages.get(f"/dokumen/faktur/{order.id}.pdf")
    assert invoice.status_code == 200
    assert "Rp1.125.000" in read_pdf(invoice.content).text  # 18 at Rp62.500
    printable = await pages.get(f"/pesanan/{order.id}/bast")
    assert f'href="/dokumen/bast/{leg.id}.pdf"' in printable.text
    for wrong in (
        "/dokumen/bast/nope.pdf",
        f"/dokumen/bast/{leg.id}",
        f"/dokumen/faktur-po/{leg.id}.pdf",
    ):
        assert (await pages.get(wrong)).status_code == 404, wrong
    # Another kitchen's person: every paper of this order is not found.
    other = await actors.org("kitchen", name="SPPG Lain Dokumen")
    pages.cookies.clear()
    await sign_in(pages, await member(session_factory, other.organization_id), PASSWORD)
    for path in (note, f"/dokumen/bast/{leg.id}.pdf", f"/dokumen/faktur/{order.id}.pdf",
                 f"/dokumen/laporan-konsinyasi/{leg.id}.pdf"):  # fmt: skip
        hidden = await pages.get(path)
        assert hidden.status_code == 404, path
    assert token_of((await pages.get("/pesanan")).text)


async def test_signing_in_from_a_link_goes_back_to_it_on_this_site_only(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen", name="SPPG Kembali")
    phone = await member(session_factory, kitchen.organization_id)
    for target, lands in (("/pesanan", "/pesanan"), ("//evil.example/x", "/"),
                          ("https://evil.example", "/")):  # fmt: skip
        pages.cookies.clear()
        form = await pages.get("/masuk", params={"next": target})
        answer = await pages.post(
            "/masuk",
            params={"next": target},
            data={"csrf_token": token_of(form.text), "phone": phone, "password": PASSWORD},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == lands, target
