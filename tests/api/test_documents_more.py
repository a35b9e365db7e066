"""Documents of a government purchase order and of a consignment statement, and numbers
handed out under concurrent first requests."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Principal, Role
from marketplace.db import unit_of_work
from marketplace.documents import DocumentService
from tests.api.test_consignment import run_outbox
from tests.api.test_sourcing import award, close_quotes, publish, quote, quote_body, rfq_body
from tests.builders.catalog import create_listing, new_oil_product, new_product
from tests.builders.consignment import consigned_oil
from tests.builders.documents import assert_hidden, deliver, read_pdf, ship, strangers
from tests.builders.orders import order_body, placed_order
from tests.support import Actors, assert_problem, local_today


async def test_a_purchase_order_invoice_shows_ppn_and_pph22(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.platform_admin()
    rice = await new_product(client, admin, price_caps=[])
    oil = await new_oil_product(client, admin, unit_label="botol 1 L", price_caps=[])
    office = await actors.org("government", "procurement", region_code="35.76", name="PBJ Uji")
    coop = await actors.org("cooperative", "seller", region_code="35.76.01.1001", name="KKMP PO")
    rfq = await publish(client, office, rfq_body([(rice.id, 100), (oil.id, 200)]))
    assert (await quote(client, coop, rfq["id"], quote_body([64_000, 15_000]))).status_code == 201
    await close_quotes(session_factory, rfq["id"])
    po = (await award(client, office, rfq["id"])).json()
    url = f"/v1/procurement/purchase-orders/{po['id']}/invoice/document.pdf"
    assert_problem(await client.get(url, headers=coop.headers), 409, "documents.not_ready")
    base = f"/v1/procurement/purchase-orders/{po['id']}"
    received = await client.post(
        f"{base}/receipts",
        json={
            "lines": [{"line_no": 1, "quantity": 100}, {"line_no": 2, "quantity": 200}],
            "received_on": local_today().isoformat(),
        },
        headers=office.headers,
    )
    assert received.status_code == 201, received.text
    invoiced = await client.post(f"{base}/invoice", headers=coop.headers)
    assert invoiced.status_code == 201, invoiced.text
    answer = await client.get(url, headers=office.headers)
    assert answer.status_code == 200, answer.text
    paper = read_pdf(answer.content)
    invoice = invoiced.json()
    # 6.400.000 rice (exempt) + 3.000.000 oil: VAT 330.000, PPh 22 1.5% of 9.400.000.
    assert (invoice["subtotal"], invoice["vat"], invoice["pph22"]) == (9_400_000, 330_000, 141_000)
    for said in (
        "FAKTUR / INVOICE PENGADAAN",
        "KKMP PO",
        "PBJ Uji",
        "Rp6.400.000",
        "Rp3.000.000",
        "PPN 12% (DPP 11/12) Rp330.000",
        "Rp9.730.000",
        "PPh 22 dipungut bendahara (1,5%) -Rp141.000",
        "Jumlah dibayarkan Rp9.589.000",
        "Terbilang: sembilan juta tujuh ratus tiga puluh ribu rupiah",
        "bebas PPN",
    ):
        assert said in paper.text, said
    assert re.search(r"No\. INV/[A-Z0-9-]+/20\d\d/000001", paper.text)
    [code] = paper.qr_codes
    assert code.startswith("http://testserver.local/cek/")
    await assert_hidden(client, url, await strangers(actors))


async def test_a_consignment_statement_prints_what_sold_and_what_is_paid(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    w = await consigned_oil(client, actors, consignor_vat_registered=False)
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    order = await placed_order(client, w.kitchen, order_body([(w.oil, 4)], date=tomorrow))
    [leg] = order.legs
    await ship(client, w.coop_seller, leg.id)
    await deliver(client, w.kitchen, leg.id, 4)
    await run_outbox(session_factory, "order.leg.delivered")
    finance = await actors.key_for(w.coop, "finance")
    run = await client.post(
        "/v1/consignment/settlement-runs",
        json={"cutoff": dt.datetime.now(dt.UTC).isoformat()},
        headers={**finance.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert run.status_code == 201, run.text
    [statement] = run.json()["statements"]
    url = f"/v1/consignment/statements/{statement['id']}/document.pdf"
    for who in (w.umkm, w.coop, finance):
        answer = await client.get(url, headers=who.headers)
        assert answer.status_code == 200, answer.text
    paper = read_pdf(answer.content)
    # 4 bottles at Rp20.000, 10% commission: Rp72.000 to pay.
    for said in (
        "LAPORAN KONSINYASI",
        "Minyak 1 L",
        "Rp80.000",
        "Komisi koperasi -Rp8.000",
        "Dibayarkan ke konsinyor Rp72.000",
        "Terbilang: tujuh puluh dua ribu rupiah",
        "komisi Rp8.000",
        "BRI 0123456789 a.n. Bu Sri",
    ):
        assert said in paper.text, said
    assert re.search(r"No\. LK/[A-Z0-9-]+/20\d\d/000001", paper.text)
    await assert_hidden(client, url, [w.kitchen, *await strangers(actors)])


async def test_fifty_concurrent_first_requests_take_fifty_consecutive_numbers(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.platform_admin()
    oil = await new_oil_product(client, admin, price_caps=[])
    coop = await actors.org("cooperative", "seller")
    kitchen = await actors.org("kitchen", "buyer", region_code=coop.region_code)
    await create_listing(client, coop, oil.id, tiers=[(1, 20_000)], stock=100)
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    legs: list[uuid.UUID] = []
    for _ in range(50):
        order = await placed_order(
            client, kitchen, order_body([(oil, 1)], date=tomorrow, region_code=coop.region_code)
        )
        [leg] = order.legs
        await ship(client, coop, leg.id)
        legs.append(uuid.UUID(leg.id))
    principal = Principal(
        api_key_id=uuid.uuid4(),
        organization_id=coop.organization_id,
        organization_kind=coop.kind,
        role=Role.VIEWER,
    )

    async def issue(leg_id: uuid.UUID) -> str:
        async with unit_of_work(session_factory) as uow:
            document = await DocumentService(uow).delivery_note(principal, leg_id)
            await uow.commit()
            return document.number

    # Each leg asked twice at once: the second request of a leg waits and gets the same.
    numbers = await asyncio.gather(*(issue(leg) for leg in legs + legs))
    first, second = numbers[:50], numbers[50:]
    assert first == second
    sequences = sorted(int(n.rsplit("/", 1)[1]) for n in first)
    assert sequences == list(range(1, 51))
    assert len({n.rsplit("/", 1)[0] for n in first}) == 1  # one series, one year
