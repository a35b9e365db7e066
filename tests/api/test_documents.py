"""Documents over the API: each paper's PDF, its number, its QR code and its public check."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders.documents import (
    LegWorld,
    assert_hidden,
    deliver,
    leg_world,
    read_pdf,
    ship,
    strangers,
)
from tests.support import Actors, assert_problem

YEAR = r"20\d\d"


@pytest.fixture
async def world(client: AsyncTestClient[Litestar], actors: Actors) -> LegWorld:
    return await leg_world(client, actors)


def number_in(text: str, series: str) -> str:
    found = re.search(rf"No\. ({series}/[A-Z0-9-]+/{YEAR}/\d{{6}})", text)
    assert found, text
    return found.group(1)


async def pdf_of(client: AsyncTestClient[Litestar], url: str, headers: dict[str, str]) -> bytes:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    return response.content


async def test_a_shipped_leg_has_a_delivery_note_whose_qr_code_checks_it(
    client: AsyncTestClient[Litestar], world: LegWorld
) -> None:
    rice = world.leg_of(world.rice)
    url = f"/v1/legs/{rice}/delivery-note/document.pdf"
    assert_problem(await client.get(url, headers=world.coop.headers), 409, "documents.not_ready")
    await ship(client, world.coop, rice)
    content = await pdf_of(client, url, world.coop.headers)
    paper = read_pdf(content)
    number = number_in(paper.text, "SJ")
    assert number.endswith("/000001")
    for said in (
        "SURAT JALAN",
        world.coop_name,
        world.kitchen_name,
        "NPWP: 0357602100000017",
        "NPWP: 0357602200000025",
        world.rice.name,
        "Rp62.500",
        "Rp3.125.000",  # 50 x Rp62.500, VAT-exempt
        "Terbilang: tiga juta seratus dua puluh lima ribu rupiah",
        world.order.id,
    ):
        assert said in paper.text, said
    assert "PPN" not in paper.text
    [code] = paper.qr_codes
    assert re.fullmatch(r"http://testserver\.local/cek/[A-Za-z0-9_-]{22}", code), code
    assert code in paper.text.replace(" ", "")  # printed under the code too
    # Downloading again gives the same paper, the buyer and a viewer alike.
    again = await pdf_of(client, url, world.kitchen.headers)
    assert again == content  # made again from the stored facts: the same bytes
    viewer = await pdf_of(client, url, world.coop_viewer.headers)
    assert read_pdf(viewer).qr_codes == [code]
    # The check needs no key: who issued it, the number, the date and the total.
    check = await client.get(urlsplit(code).path)
    assert check.status_code == 200
    for said in ("Dokumen ini asli", number, world.coop_name, "Rp3.125.000"):
        assert said in check.text, said
    # Signed out, its link to the kitchen's receiving page goes through the sign-in page.
    assert f'href="/masuk?next=%2Fpesanan%2F{world.order.id}%2Fterima"' in check.text
    # An altered code is not found.
    token = urlsplit(code).path.rsplit("/", 1)[1]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for path in (f"/cek/{forged}", f"/cek/{token}x", "/cek/%27%20OR%201=1", f"/cek/{number}"):
        missing = await client.get(path)
        assert missing.status_code == 404, path
        assert "Dokumen tidak ditemukan" in missing.text


async def test_a_received_leg_has_a_bast_and_the_order_an_invoice_with_its_vat(
    client: AsyncTestClient[Litestar], world: LegWorld
) -> None:
    rice, oil = world.leg_of(world.rice), world.leg_of(world.oil)
    invoice_url = f"/v1/orders/{world.order.id}/invoice/document.pdf"
    bast_url = f"/v1/legs/{rice}/goods-receipt/document.pdf"
    for leg in (rice, oil):
        await ship(client, world.coop, leg)
    assert_problem(await client.get(bast_url, headers=world.kitchen.headers), 409)
    await deliver(client, world.kitchen, rice, 48, "2 karung basah")
    assert_problem(
        await client.get(invoice_url, headers=world.kitchen.headers), 409, "documents.not_ready"
    )
    bast = read_pdf(await pdf_of(client, bast_url, world.kitchen_viewer.headers))
    number_in(bast.text, "BAST")
    for said in ("dikirim 50, diterima 48", "2 karung basah", "Rp3.000.000", world.kitchen_name):
        assert said in bast.text, said
    await deliver(client, world.kitchen, oil, 10)
    invoice = read_pdf(await pdf_of(client, invoice_url, world.kitchen.headers))
    assert invoice.pages == 1
    number = number_in(invoice.text, "INV")
    for said in (
        "FAKTUR / INVOICE",
        world.rice.name,
        world.oil.name,
        "Rp3.000.000",  # 48 sacks received
        "Rp200.000",
        "PPN 12% (DPP 11/12) Rp22.000",
        "Rp3.222.000",
        "Terbilang: tiga juta dua ratus dua puluh dua ribu rupiah",
    ):
        assert said in invoice.text, said
    # The supplier's copy is the same invoice.
    mine = read_pdf(await pdf_of(client, invoice_url, world.coop.headers))
    assert number_in(mine.text, "INV") == number
    assert mine.qr_codes == invoice.qr_codes


async def test_another_organization_gets_404_and_no_key_401_on_every_document(
    client: AsyncTestClient[Litestar], world: LegWorld, actors: Actors
) -> None:
    rice = world.leg_of(world.rice)
    await ship(client, world.coop, rice)
    await deliver(client, world.kitchen, rice, 50)
    urls = [
        f"/v1/legs/{rice}/delivery-note/document.pdf",
        f"/v1/legs/{rice}/goods-receipt/document.pdf",
        f"/v1/orders/{world.order.id}/invoice/document.pdf",
    ]
    others = await strangers(actors)
    for url in urls:
        await assert_hidden(client, url, others)
    unknown = uuid.uuid4()
    for url in (
        f"/v1/legs/{unknown}/delivery-note/document.pdf",
        f"/v1/legs/{unknown}/goods-receipt/document.pdf",
        f"/v1/orders/{unknown}/invoice/document.pdf",
        f"/v1/procurement/purchase-orders/{unknown}/invoice/document.pdf",
        f"/v1/consignment/statements/{unknown}/document.pdf",
    ):
        assert_problem(await client.get(url, headers=world.coop.headers), 404)
    garbled = "/v1/legs/not-a-uuid/delivery-note/document.pdf"
    assert_problem(await client.get(garbled, headers=world.coop.headers), 404)


async def test_the_year_of_a_number_is_the_issuers_local_year(
    client: AsyncTestClient[Litestar],
    world: LegWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Shipped at 17:30 UTC on New Year's Eve is 00:30 on 1 January in Jakarta: the
    surat jalan is dated and numbered in the new year, the first of that year's series."""
    rice = world.leg_of(world.rice)
    await ship(client, world.coop, rice)
    async with session_factory() as session:
        await session.execute(
            text("UPDATE order_legs SET shipped_at = :at WHERE id = :id"),
            {"at": dt.datetime(2030, 12, 31, 17, 30, tzinfo=dt.UTC), "id": uuid.UUID(rice)},
        )
        await session.commit()
    url = f"/v1/legs/{rice}/delivery-note/document.pdf"
    paper = read_pdf(await pdf_of(client, url, world.coop.headers))
    assert re.search(r"No\. SJ/[A-Z0-9-]+/2031/000001", paper.text), paper.text
    assert "Tanggal: 01-01-2031" in paper.text
