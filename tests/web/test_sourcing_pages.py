"""Government sourcing over the pages: an officer writes an RFQ, cooperatives quote, the
officer awards after the deadline, records the BAST, issues the invoice, records the
payment; refusals are next to their fields, another organization sees 404, a viewer can't act.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

import pytest
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.procurement.sourcing.models import Rfq
from tests.builders.catalog import Product, new_oil_product, new_product
from tests.support import Actor, Actors
from tests.web.people import PASSWORD, member
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in

__all__ = ["pages"]

MOJOKERTO = "35.76.02.1005"


@dataclass(frozen=True)
class World:
    rice: Product
    oil: Product
    office: Actor
    officer: str
    coops: list[tuple[Actor, str]]
    tag: str  # in both products' names: the RFQ form finds them by it


async def close_quotes(factory: async_sessionmaker[AsyncSession], rfq_id: str) -> None:
    """Let the deadline pass (tests don't wait three days)."""
    async with factory() as session:
        await session.execute(
            text("UPDATE sourcing_rfqs SET deadline = now() - interval '1 second' WHERE id = :id"),
            {"id": uuid.UUID(rfq_id)},
        )
        await session.commit()


async def rfqs_of(factory: async_sessionmaker[AsyncSession], office: uuid.UUID) -> int:
    async with factory() as session:
        count = select(func.count()).select_from(Rfq)
        return int(await session.scalar(count.where(Rfq.buyer_organization_id == office)) or 0)


async def world_of(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    factory: async_sessionmaker[AsyncSession],
) -> World:
    admin = await actors.platform_admin()
    tag = uuid.uuid4().hex[:6]
    rice = await new_product(pages, admin, name=f"Beras Pengadaan {tag}", price_caps=[])
    oil = await new_oil_product(
        pages, admin, name=f"Minyak Pengadaan {tag}", unit_label="botol 1 L", price_caps=[]
    )
    office = await actors.org("government", "procurement", region_code="35.76")
    officer = await member(factory, office.organization_id, role=Role.ADMIN, name="Bu Rina")
    coops = []
    for n in (1, 2):
        coop = await actors.org("cooperative", "seller", region_code=f"35.76.0{n}.100{n}")
        coops.append((coop, await member(factory, coop.organization_id, role=Role.SELLER)))
    return World(rice=rice, oil=oil, office=office, officer=officer, coops=coops, tag=tag)


def rfq_form(world: World, token: str, **changes: str) -> dict[str, str]:
    later = dt.date.today() + dt.timedelta(days=10)
    form = {
        "csrf_token": token,
        "title": "Sembako dapur umum",
        "product-1": world.rice.id,
        "quantity-1": "100",
        "product-2": world.oil.id,
        "quantity-2": "50",
        "delivery_date": later.isoformat(),
        "region_code": "35.76",
        "address": "Jl. Gajah Mada 100",
        "budget_code": "RUP-2026-0042",
        "deadline": f"{(later - dt.timedelta(days=3)).isoformat()}T12:00",
    }
    form.update(changes)
    return form


async def signed_in_as(pages: AsyncTestClient[Litestar], phone: str) -> None:
    pages.cookies.clear()
    await sign_in(pages, phone, PASSWORD)


async def quote_on_pages(
    pages: AsyncTestClient[Litestar], phone: str, rfq_path: str, prices: tuple[int, int]
) -> None:
    """A cooperative's person quotes on the RFQ's page (both items, a promise in 9 days)."""
    await signed_in_as(pages, phone)
    page = await pages.get(rfq_path)
    promise = (dt.date.today() + dt.timedelta(days=9)).isoformat()
    quote = {"price-1": str(prices[0]), "price-2": str(prices[1]), "promise": promise}
    sent = await pages.post(
        f"{rfq_path}/penawaran", data={"csrf_token": token_of(page.text), **quote}
    )
    assert sent.status_code == 200, sent.text


async def award_lowest_on_pages(
    pages: AsyncTestClient[Litestar],
    factory: async_sessionmaker[AsyncSession],
    world: World,
    rfq_path: str,
) -> Response:
    """The deadline passes and the officer awards the preselected (lowest compliant) quote:
    the purchase order's page."""
    await close_quotes(factory, rfq_path.rsplit("/", 1)[1])
    await signed_in_as(pages, world.officer)
    closed = await pages.get(rfq_path)
    lowest = re.search(r'name="choice" value="([^"]+)" checked', closed.text)
    assert lowest, closed.text
    awarded = await pages.post(
        f"{rfq_path}/pemenang", data={"csrf_token": token_of(closed.text), "choice": lowest[1]}
    )
    assert str(awarded.url.path).startswith("/pengadaan/po/")
    return awarded


async def test_an_officer_sources_from_rfq_to_payment(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await world_of(pages, actors, session_factory)
    await signed_in_as(pages, world.officer)
    listed = await pages.get("/pengadaan")
    assert listed.status_code == 200
    assert "Belum ada permintaan penawaran." in listed.text
    assert 'href="/pengadaan"' in listed.text  # the nav entry
    token = token_of((await pages.get("/pengadaan/baru")).text)
    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    for changes, said in [
        ({"title": ""}, "Tulis judul permintaan"),
        ({"product-1": "", "quantity-1": "", "product-2": "", "quantity-2": ""}, "Minta paling"),
        ({"quantity-1": "-3"}, "Tulis jumlahnya: bilangan bulat, 1 atau lebih."),
        ({"product-2": world.rice.id}, "Produk ini sudah tercantum"),
        ({"region_code": "jawa"}, "Tulis kode wilayah pengiriman"),
        ({"budget_code": ""}, "Tulis kode anggaran"),
        ({"deadline": f"{past}T12:00"}, "Batas waktu penawaran harus di masa depan."),
        ({"delivery_date": dt.date.today().isoformat()}, "Pengiriman tidak boleh diminta"),
    ]:
        refused = await pages.post("/pengadaan", data=rfq_form(world, token, **changes))
        assert refused.status_code == 422, changes
        assert said in refused.text, changes
        assert 'class="error"' in refused.text
    assert await rfqs_of(session_factory, world.office.organization_id) == 0
    made = await pages.post("/pengadaan", data=rfq_form(world, token))
    assert made.status_code == 200
    rfq_path = str(made.url.path)
    rfq_id = rfq_path.rsplit("/", 1)[1]
    assert "Penawaran disegel sampai batas waktu" in made.text
    # Two cooperatives quote on the pages: the second is lower.
    for (_coop, phone), prices in zip(
        world.coops, [(12_000, 20_000), (11_000, 19_000)], strict=True
    ):
        await signed_in_as(pages, phone)
        assert "Sembako dapur umum" in (await pages.get("/pengadaan")).text
        page = await pages.get(rfq_path)
        assert "Ajukan penawaran" in page.text
        quote_token = token_of(page.text)
        bad = await pages.post(
            f"{rfq_path}/penawaran",
            data={"csrf_token": quote_token, "price-1": "nol", "price-2": "5", "promise": "x"},
        )
        assert bad.status_code == 422
        assert "Tulis harga satuan dalam rupiah" in bad.text
        sent = await pages.post(
            f"{rfq_path}/penawaran",
            data={
                "csrf_token": quote_token,
                "price-1": str(prices[0]),
                "price-2": str(prices[1]),
                "promise": (dt.date.today() + dt.timedelta(days=9)).isoformat(),
            },
        )
        assert sent.status_code == 200
        assert "Penawaran Anda" in sent.text
    viewer = await member(session_factory, world.office.organization_id, role=Role.VIEWER)
    await signed_in_as(pages, world.officer)
    sealed = await pages.get(rfq_path)
    assert "Perbandingan penawaran" not in sealed.text
    await close_quotes(session_factory, rfq_id)
    closed = await pages.get(rfq_path)
    assert "Perbandingan penawaran" in closed.text
    assert "Penawaran masuk: 2" in closed.text
    # 100 x 11.000 + 50 x 19.000 = 2.050.000, preselected as the lowest compliant
    assert "Rp2.050.000" in closed.text
    choices = re.findall(r'name="choice" value="([^"]+)"( checked)?', closed.text)
    assert len(choices) == 2
    lowest = next(value for value, checked in choices if checked)
    other = next(value for value, checked in choices if not checked)
    # A viewer of the office sees the quotes but may not award.
    await signed_in_as(pages, viewer)
    seen = await pages.get(rfq_path)
    refused = await pages.post(
        f"{rfq_path}/pemenang",
        data={"csrf_token": token_of(seen.text), "choice": lowest, "reason": ""},
    )
    assert refused.status_code == 422
    assert "Peran Anda tidak boleh menetapkan pemenang." in refused.text
    await signed_in_as(pages, world.officer)
    closed = await pages.get(rfq_path)
    token = token_of(closed.text)
    refused = await pages.post(
        f"{rfq_path}/pemenang", data={"csrf_token": token, "choice": other, "reason": ""}
    )
    assert refused.status_code == 422
    assert "Tulis alasan penawaran ini dipilih" in refused.text
    awarded = await pages.post(
        f"{rfq_path}/pemenang", data={"csrf_token": token, "choice": lowest, "reason": ""}
    )
    assert awarded.status_code == 200
    po_path = str(awarded.url.path)
    assert po_path.startswith("/pengadaan/po/")
    assert "Catat serah terima barang (BAST)" in awarded.text
    # The awarded cooperative sees it; the other does not get the purchase order.
    await signed_in_as(pages, world.coops[1][1])
    assert "Penawaran Anda ditetapkan sebagai pemenang." in (await pages.get(rfq_path)).text
    assert (await pages.get(po_path)).status_code == 200
    await signed_in_as(pages, world.coops[0][1])
    assert "Koperasi lain ditetapkan" in (await pages.get(rfq_path)).text
    assert (await pages.get(po_path)).status_code == 404
    # A viewer may not record the BAST.
    await signed_in_as(pages, viewer)
    seen = await pages.get(po_path)
    refused = await pages.post(
        f"{po_path}/bast",
        data={
            "csrf_token": token_of(seen.text),
            "received-1": "100",
            "received-2": "50",
            "received_on": dt.date.today().isoformat(),
        },
    )
    assert refused.status_code == 422
    assert "Peran Anda tidak boleh mencatat serah terima barang." in refused.text
    # The officer records the BAST, issues the invoice and records the payment.
    await signed_in_as(pages, world.officer)
    page = await pages.get(po_path)
    token = token_of(page.text)
    today = dt.date.today().isoformat()
    too_many = await pages.post(
        f"{po_path}/bast",
        data={"csrf_token": token, "received-1": "101", "received-2": "50", "received_on": today},
    )
    assert too_many.status_code == 422
    assert 'class="error"' in too_many.text
    received = await pages.post(
        f"{po_path}/bast",
        data={
            "csrf_token": token,
            "received-1": "100",
            "received-2": "50",
            "received_on": today,
            "document_number": "BAST-001",
        },
    )
    assert received.status_code == 200, received.text
    assert "BAST-001" in received.text
    invoiced = await pages.post(f"{po_path}/faktur", data={"csrf_token": token})
    assert invoiced.status_code == 200
    assert "PPh 22 dipotong" in invoiced.text
    pdf = f'href="/dokumen/faktur-po/{po_path.rsplit("/", 1)[1]}.pdf" hx-boost="false"'
    assert pdf in invoiced.text
    net = re.search(r'name="amount" type="text" value="(\d+)"', invoiced.text)
    assert net, invoiced.text
    wrong = await pages.post(
        f"{po_path}/bayar",
        data={"csrf_token": token, "sp2d": "SP2D-9", "amount": "1", "paid_on": today},
    )
    assert wrong.status_code == 422
    assert "Jumlahnya harus sama dengan jumlah bersih faktur." in wrong.text
    paid = await pages.post(
        f"{po_path}/bayar",
        data={"csrf_token": token, "sp2d": "SP2D-9", "amount": net.group(1), "paid_on": today},
    )
    assert paid.status_code == 200
    assert "SP2D SP2D-9" in paid.text
    assert "Dibayar oleh kas daerah" in paid.text
    # Another office: the RFQ and the purchase order are not found.
    other = await actors.org("government", "procurement", region_code="35.76")
    await signed_in_as(pages, await member(session_factory, other.organization_id, role=Role.ADMIN))
    for path in (rfq_path, po_path):
        hidden = await pages.get(path)
        assert hidden.status_code == 404
        assert "Tidak ditemukan" in hidden.text
    token = token_of((await pages.get("/pengadaan")).text)
    refused = await pages.post(f"{rfq_path}/pemenang", data={"csrf_token": token, "choice": lowest})
    assert refused.status_code == 404
    hidden = await pages.post(f"{po_path}/bast", data={"csrf_token": token, "received-1": "1"})
    assert hidden.status_code == 404
    # A cooperative of another city neither sees the RFQ nor may quote on it.
    blitar = await actors.org("cooperative", "seller", region_code="35.72.01.1001")
    await signed_in_as(pages, await member(session_factory, blitar.organization_id))
    listed = await pages.get("/pengadaan")
    assert "Sembako dapur umum" not in listed.text
    assert (await pages.get(rfq_path)).status_code == 404
    quoted = await pages.post(
        f"{rfq_path}/penawaran",
        data={"csrf_token": token_of(listed.text), "price-1": "1", "price-2": "1"},
    )
    assert quoted.status_code == 404


@pytest.mark.parametrize("role", [Role.VIEWER])
async def test_a_viewer_cannot_publish_and_a_kitchen_has_no_rfq_form(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    role: Role,
) -> None:
    world = await world_of(pages, actors, session_factory)
    viewer = await member(session_factory, world.office.organization_id, role=role)
    await signed_in_as(pages, viewer)
    token = token_of((await pages.get("/pengadaan/baru")).text)
    refused = await pages.post("/pengadaan", data=rfq_form(world, token))
    assert refused.status_code == 422
    assert "Peran Anda tidak boleh mengumumkan permintaan penawaran." in refused.text
    assert await rfqs_of(session_factory, world.office.organization_id) == 0
    kitchen = await actors.org("kitchen")
    await signed_in_as(pages, await member(session_factory, kitchen.organization_id))
    assert (await pages.get("/pengadaan/baru")).status_code == 404


async def test_the_supplier_declines_on_the_pages_and_the_award_moves_on(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await world_of(pages, actors, session_factory)
    await signed_in_as(pages, world.officer)
    token = token_of((await pages.get("/pengadaan/baru")).text)
    made = await pages.post("/pengadaan", data=rfq_form(world, token))
    rfq_path = str(made.url.path)
    rfq_id = rfq_path.rsplit("/", 1)[1]
    for (_coop, phone), price in zip(world.coops, (12_000, 11_000), strict=True):
        await quote_on_pages(pages, phone, rfq_path, (price, 19_000))
    awarded = await award_lowest_on_pages(pages, session_factory, world, rfq_path)
    first_po = str(awarded.url.path)
    # The awarded (cheaper) cooperative finds it in its list and declines it.
    await signed_in_as(pages, world.coops[1][1])
    listed = await pages.get("/pengadaan/po")
    assert listed.status_code == 200
    assert f'href="{first_po}"' in listed.text
    assert "Beras Pengadaan" in listed.text
    assert "dan 1 lainnya" in listed.text
    page = await pages.get(first_po)
    assert "Tolak surat pesanan" in page.text
    token = token_of(page.text)
    blank = await pages.post(f"{first_po}/tolak", data={"csrf_token": token, "reason": " "})
    assert blank.status_code == 422
    assert "Tulis alasan Anda tidak sanggup mengirim pesanan ini." in blank.text
    declined = await pages.post(
        f"{first_po}/tolak", data={"csrf_token": token, "reason": "Gudang kami kebanjiran"}
    )
    assert declined.status_code == 200
    assert "Ditolak oleh pemasok" in declined.text
    assert "Gudang kami kebanjiran" in declined.text
    assert "Tolak surat pesanan" not in declined.text
    again = await pages.post(f"{first_po}/tolak", data={"csrf_token": token, "reason": "lagi"})
    assert again.status_code == 422
    assert "tidak bisa ditolak lagi" in again.text
    # The office sees both purchase orders: the declined one and the one cascaded on.
    await signed_in_as(pages, world.officer)
    mine = await pages.get("/pengadaan/po")
    po_paths = re.findall(r'href="(/pengadaan/po/[0-9a-f-]{36})"', mine.text)
    assert len(po_paths) == 2
    assert first_po in po_paths
    cascaded = next(p for p in po_paths if p != first_po)
    # The office may not decline; the other cooperative now holds the order.
    office_view = await pages.get(cascaded)
    assert "Tolak surat pesanan" not in office_view.text
    refused = await pages.post(
        f"{cascaded}/tolak", data={"csrf_token": token_of(office_view.text), "reason": "x"}
    )
    assert refused.status_code == 404
    await signed_in_as(pages, world.coops[0][1])
    theirs = await pages.get("/pengadaan/po")
    assert f'href="{cascaded}"' in theirs.text
    assert f'href="{first_po}"' not in theirs.text
    # The OCDS release of the request, for people who may see it, without an API key.
    release = await pages.get(f"{rfq_path}/ocds.json")
    assert release.status_code == 200
    assert "attachment" in release.headers["content-disposition"]
    package = release.json()
    assert [r["tender"]["id"] for r in package["releases"]] == [rfq_id]
    outsider = await actors.org("cooperative", "seller", region_code="35.72.01.1001")
    await signed_in_as(pages, await member(session_factory, outsider.organization_id))
    assert (await pages.get(f"{rfq_path}/ocds.json")).status_code == 404
    assert (await pages.get(cascaded)).status_code == 404


async def test_a_city_office_lands_on_its_report_and_an_officer_on_procurement(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await world_of(pages, actors, session_factory)
    signed = await sign_in(pages, world.officer, PASSWORD)
    assert signed.headers["location"] == "/pengadaan"  # type: ignore[attr-defined]
    admin = await actors.platform_admin()
    dinkop = await actors.org("government", "viewer", region_code="35.76")
    granted = await pages.post(
        f"/v1/organizations/{dinkop.organization_id}/oversight",
        json={"region_prefix": "35.76"},
        headers=admin.headers,
    )
    assert granted.status_code == 201, granted.text
    pages.cookies.clear()
    clerk = await member(session_factory, dinkop.organization_id, role=Role.VIEWER)
    signed = await sign_in(pages, clerk, PASSWORD)
    assert signed.headers["location"] == "/kota"  # type: ignore[attr-defined]
    start = await pages.get("/", follow_redirects=False)
    assert start.headers["location"] == "/kota"
