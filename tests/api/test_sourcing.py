"""Government sourcing through the API: RFQ → quotes → award → decline → cascade →
goods receipt (BAST) → invoice (VAT, PPh 22) → treasury payment, with access rules."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.db import unit_of_work
from marketplace.ledger import AccountPurpose, LedgerService
from marketplace.outbox import OutboxEvent
from marketplace.reports.domain.figures import sums_by_key
from marketplace.reports.figures_repository import FiguresRepository
from tests.builders.catalog import Product, new_oil_product, new_product
from tests.builders.legacy import LegacyKeys
from tests.support import Actor, Actors, assert_problem

MOJOKERTO = "35.76.02.1005"
DELIVERY = (dt.date.today() + dt.timedelta(days=5)).isoformat()
PROMISE = (dt.date.today() + dt.timedelta(days=4)).isoformat()


def deadline(hours: int = 2) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).isoformat()


def rfq_body(items: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Sembako untuk dapur umum kecamatan",
        "items": [{"product_id": pid, "quantity": q} for pid, q in items],
        "delivery": {"date": DELIVERY, "region_code": MOJOKERTO, "address": "Jl. Gajah Mada 100"},
        "budget_code": "RUP-2026-35760-0042",
        "deadline": deadline(),
        "evaluation_rule": "lowest_price",
    }
    body.update(extra)
    return body


def quote_body(prices: list[int], promise: str = PROMISE) -> dict[str, Any]:
    return {
        "lines": [{"line_no": n, "unit_price": p} for n, p in enumerate(prices, start=1)],
        "delivery_promise_date": promise,
    }


async def close_quotes(factory: async_sessionmaker[AsyncSession], rfq_id: str) -> None:
    """Let the deadline pass (tests don't wait two hours)."""
    async with factory() as session:
        await session.execute(
            text("UPDATE sourcing_rfqs SET deadline = now() - interval '1 second' WHERE id = :id"),
            {"id": uuid.UUID(rfq_id)},
        )
        await session.commit()


async def award(
    client: AsyncTestClient[Litestar],
    who: Actor,
    rfq_id: str,
    body: Any = None,
    key: str | None = None,
) -> Any:
    headers = {**who.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    return await client.post(
        f"/v1/procurement/rfqs/{rfq_id}/award", json=body or {}, headers=headers
    )


async def count_rows(factory: async_sessionmaker[AsyncSession], table: str) -> int:
    async with factory() as session:
        return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


@dataclass(frozen=True)
class SourcingWorld(LegacyKeys):
    """Mojokerto's procurement office, three Mojokerto cooperatives and one in Blitar."""

    admin: Actor
    rice: Product
    oil: Product
    office: Actor
    finance: Actor
    coops: list[Actor]
    blitar: Actor


@pytest.fixture
async def world(client: AsyncTestClient[Litestar], actors: Actors) -> SourcingWorld:
    admin = await actors.platform_admin()
    rice = await new_product(client, admin, price_caps=[])
    oil = await new_oil_product(client, admin, unit_label="botol 1 L", price_caps=[])
    office = await actors.org("government", "procurement", region_code="35.76")
    coops = [
        await actors.org("cooperative", "seller", region_code=f"35.76.0{n}.100{n}")
        for n in (1, 2, 3)
    ]
    return SourcingWorld(
        admin=admin,
        rice=rice,
        oil=oil,
        office=office,
        finance=await actors.key_for(office, "finance"),
        coops=coops,
        blitar=await actors.org("cooperative", "seller", region_code="35.72.01.1001"),
    )


async def publish(client: AsyncTestClient[Litestar], office: Actor, body: dict[str, Any]) -> Any:
    response = await client.post("/v1/procurement/rfqs", json=body, headers=office.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def quote(
    client: AsyncTestClient[Litestar], coop: Actor, rfq_id: str, body: dict[str, Any]
) -> Any:
    return await client.post(
        f"/v1/procurement/rfqs/{rfq_id}/quotes", json=body, headers=coop.headers
    )


async def test_full_flow_award_decline_cascade_receipt_invoice_payment(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    office, finance, (a, b, c) = world.office, world.finance, world.coops
    rfq = await publish(client, office, rfq_body([(world.rice.id, 100), (world.oil.id, 200)]))
    assert rfq["status"] == "open"
    assert [(i["unit_code"], i["vat_treatment"]) for i in rfq["items"]] == [
        ("XSA", "exempt"),
        ("XBO", "standard"),
    ]
    # Cooperatives of the delivery city see it among open RFQs; Blitar's does not.
    listed = await client.get("/v1/procurement/rfqs?status=open", headers=a.headers)
    assert rfq["id"] in [r["id"] for r in listed.json()["items"]]
    far = await client.get("/v1/procurement/rfqs?status=open", headers=world.blitar.headers)
    assert rfq["id"] not in [r["id"] for r in far.json()["items"]]
    assert_problem(
        await client.get(f"/v1/procurement/rfqs/{rfq['id']}", headers=world.blitar.headers), 404
    )

    # Three quotes. A: 9,400,000; B: 9,340,000 (lowest); C: 9,480,000.
    for coop, prices in ((a, [64_000, 15_000]), (b, [63_000, 15_200]), (c, [65_000, 14_900])):
        response = await quote(client, coop, rfq["id"], quote_body(prices))
        assert response.status_code == 201, response.text
    # A re-quote before the deadline replaces the earlier one (still one quote per coop).
    requote = await quote(client, c, rfq["id"], quote_body([65_000, 14_900]))
    assert requote.status_code == 201
    assert requote.json()["total"] == 9_480_000
    assert [ln["amount"] for ln in requote.json()["lines"]] == [6_500_000, 2_980_000]
    # Sealed: the office can't see quotes before the deadline; a coop sees only its own.
    assert_problem(
        await client.get(f"/v1/procurement/rfqs/{rfq['id']}/quotes", headers=office.headers),
        409,
        "procurement.rfq_still_open",
    )
    own = await client.get(f"/v1/procurement/rfqs/{rfq['id']}/quotes", headers=a.headers)
    assert [q["supplier_organization_id"] for q in own.json()["items"]] == [str(a.organization_id)]
    # Awarding before the deadline is refused.
    assert_problem(await award(client, office, rfq["id"]), 409, "procurement.rfq_still_open")

    await close_quotes(session_factory, rfq["id"])
    late = await quote(client, a, rfq["id"], quote_body([1, 1]))
    assert_problem(late, 409, "procurement.rfq_not_open")
    ranked = await client.get(f"/v1/procurement/rfqs/{rfq['id']}/quotes", headers=office.headers)
    assert [(q["rank"], q["total"]) for q in ranked.json()["items"]] == [
        (1, 9_340_000),
        (2, 9_400_000),
        (3, 9_480_000),
    ]

    key = uuid.uuid4().hex
    first = await award(client, office, rfq["id"], key=key)
    assert first.status_code == 201, first.text
    po_b = first.json()
    assert po_b["supplier_organization_id"] == str(b.organization_id)
    # Oil is taxable (3,040,000 → VAT 334,400); rice exempt; PPh 22 1.5% of 9,340,000.
    assert (po_b["subtotal"], po_b["vat"], po_b["pph22"]) == (9_340_000, 334_400, 140_100)
    assert (po_b["total"], po_b["net_payable"]) == (9_674_400, 9_534_300)
    replay = await award(client, office, rfq["id"], key=key)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == po_b["id"]
    assert_problem(await award(client, office, rfq["id"]), 409, "procurement.rfq_already_awarded")
    assert_problem(await quote(client, a, rfq["id"], quote_body([1, 1])), 409)

    # B declines: the award cascades to A, the next-lowest.
    assert_problem(
        await client.post(
            f"/v1/procurement/purchase-orders/{po_b['id']}/decline",
            json={"reason": "x"},
            headers=a.headers,
        ),
        404,
    )
    declined = await client.post(
        f"/v1/procurement/purchase-orders/{po_b['id']}/decline",
        json={"reason": "Stok minyak habis"},
        headers=b.headers,
    )
    assert declined.status_code == 200, declined.text
    result = declined.json()
    assert result["declined"]["status"] == "declined"
    po_a = result["next_purchase_order"]
    assert po_a["supplier_organization_id"] == str(a.organization_id)
    assert po_a["cascaded_from_id"] == po_b["id"]
    assert (po_a["subtotal"], po_a["vat"], po_a["pph22"]) == (9_400_000, 330_000, 141_000)
    assert result["rfq_status"] == "awarded"

    # Goods receipts (BAST): partial, then an over-receipt refused with nothing changed.
    receipts = f"/v1/procurement/purchase-orders/{po_a['id']}/receipts"
    first_receipt = await client.post(
        receipts,
        json={
            "lines": [{"line_no": 1, "quantity": 60}, {"line_no": 2, "quantity": 200}],
            "received_on": DELIVERY,
            "document_number": "BAST/035/2026",
        },
        headers=office.headers,
    )
    assert first_receipt.status_code == 201, first_receipt.text
    assert first_receipt.json()["status"] == "partially_received"
    before = await count_rows(session_factory, "sourcing_goods_receipts")
    over = await client.post(
        receipts,
        json={"lines": [{"line_no": 1, "quantity": 50}], "received_on": DELIVERY},
        headers=office.headers,
    )
    body = assert_problem(over, 422, "procurement.receipt_exceeds_order")
    assert body["extra"]["lines"][0] == {
        "line_no": 1,
        "ordered": 100,
        "already_received": 60,
        "receiving": 50,
    }
    assert await count_rows(session_factory, "sourcing_goods_receipts") == before
    second_receipt = await client.post(
        receipts,
        json={"lines": [{"line_no": 1, "quantity": 30}], "received_on": DELIVERY},
        headers=office.headers,
    )
    assert second_receipt.status_code == 201
    lines = second_receipt.json()["lines"]
    assert [(ln["quantity"], ln["received_quantity"]) for ln in lines] == [(100, 90), (200, 200)]

    # Invoice on what was received: rice 90 x 64,000 (exempt) + oil 200 x 15,000 (taxable).
    invoice_url = f"/v1/procurement/purchase-orders/{po_a['id']}/invoice"
    invoiced = await client.post(invoice_url, headers=a.headers)
    assert invoiced.status_code == 201, invoiced.text
    invoice = invoiced.json()
    assert (invoice["subtotal"], invoice["taxable_base"], invoice["exempt_base"]) == (
        8_760_000,
        3_000_000,
        5_760_000,
    )
    assert (invoice["dpp"], invoice["vat"], invoice["pph22"]) == (2_750_000, 330_000, 131_400)
    assert (invoice["total"], invoice["net_payable"]) == (9_090_000, 8_958_600)
    assert_problem(
        await client.post(invoice_url, headers=a.headers), 409, "procurement.already_invoiced"
    )

    # Payment: procurement role may not; a wrong amount is refused; then the SP2D.
    pay_url = f"/v1/procurement/purchase-orders/{po_a['id']}/payments"
    payment = {"sp2d_number": "SP2D-0042/2026", "amount": 8_958_600, "paid_on": DELIVERY}
    headers = {**office.headers, "Idempotency-Key": uuid.uuid4().hex}
    assert_problem(await client.post(pay_url, json=payment, headers=headers), 403)
    headers = {**finance.headers, "Idempotency-Key": uuid.uuid4().hex}
    wrong = await client.post(pay_url, json={**payment, "amount": 9_090_000}, headers=headers)
    assert_problem(wrong, 422, "procurement.payment_amount_mismatch")
    assert_problem(await client.post(pay_url, json=payment, headers=finance.headers), 400)
    paid = await client.post(pay_url, json=payment, headers=headers)
    assert paid.status_code == 201, paid.text
    assert paid.json()["payment"]["amount"] == 8_958_600
    again = await client.post(pay_url, json=payment, headers=headers)
    assert again.json()["payment"]["id"] == paid.json()["payment"]["id"]
    po_now = await client.get(f"/v1/procurement/purchase-orders/{po_a['id']}", headers=a.headers)
    assert po_now.json()["status"] == "paid"
    assert po_now.json()["invoice_id"] == invoice["id"]
    got_invoice = await client.get(invoice_url, headers=office.headers)
    assert got_invoice.json()["payment"]["sp2d_number"] == "SP2D-0042/2026"
    listed_pos = await client.get("/v1/procurement/purchase-orders", headers=b.headers)
    assert [p["status"] for p in listed_pos.json()["items"]] == ["declined"]
    assert_problem(await client.get(invoice_url, headers=b.headers), 404)

    # The ledger: both transactions balanced; the office owes nothing; the supplier is
    # owed subtotal + VAT with the withholding as its tax credit.
    async with unit_of_work(session_factory) as uow:
        ledger = LedgerService(uow)
        for reference in (
            f"government_invoice:{invoice['id']}",
            f"payment_received:{paid.json()['payment']['id']}",
        ):
            (tx,) = await ledger.transactions(reference=reference)
            assert sum(e.amount for e in tx.entries) == 0
        office_books = {b.purpose: b.balance for b in await ledger.balances(office.organization_id)}
        assert office_books[AccountPurpose.BUYER_RECEIVABLE] == 0
        supplier_books = {b.purpose: b.balance for b in await ledger.balances(a.organization_id)}
        assert supplier_books[AccountPurpose.SELLER_PAYABLE] == -8_760_000
        assert supplier_books[AccountPurpose.VAT_PAYABLE] == -330_000
        assert supplier_books[AccountPurpose.PPH22_WITHHELD] == 131_400
        topics = (
            await uow.session.execute(
                select(OutboxEvent.topic, func.count())
                .where(OutboxEvent.topic.like("procurement.%"))
                .where(OutboxEvent.organization_id == b.organization_id)
                .group_by(OutboxEvent.topic)
            )
        ).all()
        assert ("procurement.purchase_order.created", 1) in topics


async def test_purchase_of_exactly_two_million_withholds_no_pph22(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    office, a = world.office, world.coops[0]
    rfq = await publish(client, office, rfq_body([(world.rice.id, 40)]))
    assert (await quote(client, a, rfq["id"], quote_body([50_000]))).status_code == 201
    await close_quotes(session_factory, rfq["id"])
    po = (await award(client, office, rfq["id"])).json()
    assert (po["subtotal"], po["vat"], po["pph22"], po["net_payable"]) == (
        2_000_000,
        0,
        0,
        2_000_000,
    )
    receipt = await client.post(
        f"/v1/procurement/purchase-orders/{po['id']}/receipts",
        json={"lines": [{"line_no": 1, "quantity": 40}], "received_on": DELIVERY},
        headers=office.headers,
    )
    assert receipt.json()["status"] == "received"
    invoice = await client.post(
        f"/v1/procurement/purchase-orders/{po['id']}/invoice", headers=office.headers
    )
    assert invoice.status_code == 201, invoice.text
    assert (invoice.json()["pph22"], invoice.json()["net_payable"]) == (0, 2_000_000)


async def test_last_decline_fails_the_rfq(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    office, a = world.office, world.coops[0]
    rfq = await publish(client, office, rfq_body([(world.rice.id, 10)]))
    await quote(client, a, rfq["id"], quote_body([60_000]))
    await close_quotes(session_factory, rfq["id"])
    po = (await award(client, office, rfq["id"])).json()
    declined = await client.post(
        f"/v1/procurement/purchase-orders/{po['id']}/decline",
        json={"reason": "Gudang banjir"},
        headers=a.headers,
    )
    assert declined.json()["next_purchase_order"] is None
    assert declined.json()["rfq_status"] == "failed"
    got = await client.get(f"/v1/procurement/rfqs/{rfq['id']}", headers=office.headers)
    assert got.json()["status"] == "failed"


async def test_named_award_needs_a_reason_and_a_compliant_quote(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    office, (a, b, c) = world.office, world.coops
    rfq = await publish(client, office, rfq_body([(world.rice.id, 10)]))
    qa = (await quote(client, a, rfq["id"], quote_body([60_000]))).json()
    qb = (await quote(client, b, rfq["id"], quote_body([61_000]))).json()
    late_promise = (dt.date.today() + dt.timedelta(days=9)).isoformat()
    qc = (await quote(client, c, rfq["id"], quote_body([50_000], promise=late_promise))).json()
    await close_quotes(session_factory, rfq["id"])
    assert_problem(
        await award(client, office, rfq["id"], {"quote_id": qb["id"]}),
        422,
        "procurement.award_reason_required",
    )
    assert_problem(
        await award(client, office, rfq["id"], {"quote_id": qc["id"], "reason": "murah"}),
        422,
        "procurement.quote_not_compliant",
    )
    named = await award(
        client, office, rfq["id"], {"quote_id": qb["id"], "reason": "Lokasi gudang terdekat"}
    )
    assert named.status_code == 201, named.text
    assert named.json()["quote_id"] == qb["id"] != qa["id"]
    assert named.json()["award_reason"] == "Lokasi gudang terdekat"


async def test_concurrent_awards_create_one_purchase_order(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    office, (a, b, _) = world.office, world.coops
    rfq = await publish(client, office, rfq_body([(world.rice.id, 10)]))
    await quote(client, a, rfq["id"], quote_body([60_000]))
    await quote(client, b, rfq["id"], quote_body([59_000]))
    await close_quotes(session_factory, rfq["id"])
    responses = await asyncio.gather(*(award(client, office, rfq["id"]) for _ in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    async with session_factory() as session:
        count = (
            await session.execute(
                text("SELECT count(*) FROM sourcing_purchase_orders WHERE rfq_id = :id"),
                {"id": uuid.UUID(rfq["id"])},
            )
        ).scalar_one()
    assert count == 1


async def test_quote_rules_and_bad_input_change_nothing(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    office, a = world.office, world.coops[0]
    rfq = await publish(client, office, rfq_body([(world.rice.id, 10), (world.oil.id, 5)]))
    before = await count_rows(session_factory, "sourcing_quotes")
    missing = await quote(client, a, rfq["id"], quote_body([60_000]))
    assert_problem(missing, 422, "procurement.quote_incomplete")
    unknown_field = await quote(client, a, rfq["id"], {**quote_body([1, 2]), "discount": 5})
    assert_problem(unknown_field, 400, "validation_failed")
    zero = await quote(client, a, rfq["id"], quote_body([0, 2]))
    assert_problem(zero, 400, "validation_failed")
    assert await count_rows(session_factory, "sourcing_quotes") == before

    rfqs_before = await count_rows(session_factory, "sourcing_rfqs")
    for bad in (
        rfq_body([(world.rice.id, 1)], deadline="2030-01-01T10:00:00"),  # naive
        rfq_body([(world.rice.id, 1)], deadline="2020-01-01T10:00:00+07:00"),  # past
        rfq_body([(str(uuid.uuid4()), 1)]),  # unknown product
        rfq_body([(world.rice.id, 1), (world.rice.id, 2)]),  # duplicate
        rfq_body([(world.rice.id, 0)]),
        rfq_body([]),
        {
            **rfq_body([(world.rice.id, 1)]),
            "delivery": {"date": DELIVERY, "region_code": "35", "address": "x"},
        },
    ):
        response = await client.post("/v1/procurement/rfqs", json=bad, headers=office.headers)
        assert 400 <= response.status_code < 500, response.text
        assert_problem(response, response.status_code)
    assert await count_rows(session_factory, "sourcing_rfqs") == rfqs_before


async def test_authorization(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    office, a = world.office, world.coops[0]
    body = rfq_body([(world.rice.id, 10)])
    assert_problem(await client.post("/v1/procurement/rfqs", json=body), 401)
    viewer = await actors.key_for(office, "viewer")
    assert_problem(
        await client.post("/v1/procurement/rfqs", json=body, headers=viewer.headers), 403
    )
    kitchen = await actors.org("kitchen", "admin", region_code=MOJOKERTO)
    assert_problem(
        await client.post("/v1/procurement/rfqs", json=body, headers=kitchen.headers), 403
    )

    rfq = await publish(client, office, body)
    other_office = await actors.org("government", "procurement", region_code="35.76")
    for who in (other_office, kitchen, world.blitar):
        assert_problem(
            await client.get(f"/v1/procurement/rfqs/{rfq['id']}", headers=who.headers), 404
        )
        assert_problem(await quote(client, who, rfq["id"], quote_body([60_000])), 404)
    buyer_key = await actors.key_for(a, "buyer")
    assert_problem(await quote(client, buyer_key, rfq["id"], quote_body([60_000])), 403)
    assert_problem(await client.get(f"/v1/procurement/rfqs/{rfq['id']}"), 401)

    await quote(client, a, rfq["id"], quote_body([60_000]))
    await close_quotes(session_factory, rfq["id"])
    assert_problem(await award(client, other_office, rfq["id"]), 404)
    assert_problem(await award(client, await actors.key_for(office, "viewer"), rfq["id"]), 403)
    no_key = await client.post(
        f"/v1/procurement/rfqs/{rfq['id']}/award", json={}, headers=office.headers
    )
    assert_problem(no_key, 400, "idempotency.key_invalid")
    po = (await award(client, office, rfq["id"])).json()
    po_url = f"/v1/procurement/purchase-orders/{po['id']}"
    for who in (other_office, world.coops[1], world.blitar):
        assert_problem(await client.get(po_url, headers=who.headers), 404)
        assert_problem(
            await client.post(
                f"{po_url}/receipts",
                json={"lines": [{"line_no": 1, "quantity": 1}], "received_on": DELIVERY},
                headers=who.headers,
            ),
            404,
        )
    # The supplier can't record the office's receipt; the office can't decline.
    assert_problem(
        await client.post(
            f"{po_url}/receipts",
            json={"lines": [{"line_no": 1, "quantity": 1}], "received_on": DELIVERY},
            headers=a.headers,
        ),
        404,
    )
    assert_problem(
        await client.post(f"{po_url}/decline", json={"reason": "x"}, headers=office.headers), 404
    )
    assert_problem(await client.get(po_url), 401)
    # Nothing received yet: no invoice, for that reason, and nothing changes.
    nothing = await client.post(f"{po_url}/invoice", headers=a.headers)
    assert_problem(nothing, 422, "procurement.nothing_received")
    assert (await client.get(po_url, headers=a.headers)).json()["status"] == "issued"
    assert_problem(await client.get(f"{po_url}/invoice", headers=a.headers), 404)


async def test_concurrent_receipts_never_exceed_the_order(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    office, a = world.office, world.coops[0]
    rfq = await publish(client, office, rfq_body([(world.rice.id, 100)]))
    await quote(client, a, rfq["id"], quote_body([60_000]))
    await close_quotes(session_factory, rfq["id"])
    po = (await award(client, office, rfq["id"])).json()
    url = f"/v1/procurement/purchase-orders/{po['id']}/receipts"
    body = {"lines": [{"line_no": 1, "quantity": 30}], "received_on": DELIVERY}
    responses = await asyncio.gather(
        *(client.post(url, json=body, headers=office.headers) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [201, 201, 201, 422, 422]
    got = await client.get(f"/v1/procurement/purchase-orders/{po['id']}", headers=office.headers)
    assert got.json()["lines"][0]["received_quantity"] == 90
    assert len(got.json()["receipts"]) == 3


async def test_bad_input_on_every_write_is_a_problem_and_changes_nothing(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    office, finance, a = world.office, world.finance, world.coops[0]
    empty = await publish(client, office, rfq_body([(world.rice.id, 10)]))
    await close_quotes(session_factory, empty["id"])
    assert_problem(await award(client, office, empty["id"]), 422, "procurement.no_compliant_quote")

    rfq = await publish(client, office, rfq_body([(world.rice.id, 10)]))
    await quote(client, a, rfq["id"], quote_body([60_000]))
    await close_quotes(session_factory, rfq["id"])
    assert_problem(await award(client, office, rfq["id"], {"quote": "x"}), 400)
    po = (await award(client, office, rfq["id"])).json()
    url = f"/v1/procurement/purchase-orders/{po['id']}"
    tables = ("sourcing_purchase_orders", "sourcing_goods_receipts", "sourcing_invoices")
    before = [await count_rows(session_factory, t) for t in tables]
    assert_problem(await client.post(f"{url}/decline", json={"reason": ""}, headers=a.headers), 400)
    for lines in ([{"line_no": 1, "quantity": -1}], [], [{"line_no": 2, "quantity": 1}],
                  [{"line_no": 1, "quantity": 1}, {"line_no": 1, "quantity": 1}]):  # fmt: skip
        response = await client.post(
            f"{url}/receipts",
            json={"lines": lines, "received_on": DELIVERY},
            headers=office.headers,
        )
        assert response.status_code in (400, 422), response.text
        assert_problem(response, response.status_code)
    pay = {"sp2d_number": "SP2D-1", "amount": -5, "paid_on": DELIVERY}
    headers = {**finance.headers, "Idempotency-Key": uuid.uuid4().hex}
    assert_problem(await client.post(f"{url}/payments", json=pay, headers=headers), 400)
    assert_problem(
        await client.post(f"{url}/payments", json={**pay, "amount": 1}, headers=headers),
        409,  # nothing invoiced yet
    )
    assert [await count_rows(session_factory, t) for t in tables] == before
    got = await client.get(url, headers=office.headers)
    assert got.json()["status"] == "issued"
    assert_problem(
        await client.get("/v1/procurement/rfqs?status=bogus", headers=office.headers), 400
    )


ROLES = ["admin", "buyer", "seller", "finance", "procurement", "viewer"]


@pytest.mark.slow
async def test_strangers_get_404_in_every_role_and_401_without_a_key(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    office, blitar = world.office, world.blitar
    body = rfq_body([(world.rice.id, 10)])
    body["delivery"]["region_code"] = "35.72.01.1002"
    rfq = await publish(client, office, body)
    await quote(client, blitar, rfq["id"], quote_body([60_000]))
    await close_quotes(session_factory, rfq["id"])
    po = (await award(client, office, rfq["id"])).json()
    rfq_url = f"/v1/procurement/rfqs/{rfq['id']}"
    po_url = f"/v1/procurement/purchase-orders/{po['id']}"
    operations: list[tuple[str, str, Any]] = [
        ("GET", rfq_url, None),
        ("GET", f"{rfq_url}/quotes", None),
        ("POST", f"{rfq_url}/quotes", quote_body([1])),
        ("POST", f"{rfq_url}/award", {}),
        ("GET", po_url, None),
        ("POST", f"{po_url}/decline", {"reason": "x"}),
        ("POST", f"{po_url}/receipts", {"lines": [{"line_no": 1, "quantity": 1}],
                                        "received_on": DELIVERY}),
        ("POST", f"{po_url}/invoice", None),
        ("GET", f"{po_url}/invoice", None),
        ("POST", f"{po_url}/payments", {"sp2d_number": "S", "amount": 1, "paid_on": DELIVERY}),
    ]  # fmt: skip
    strangers: list[Actor] = []
    for kind in ("cooperative", "kitchen", "umkm", "government"):
        base = await actors.org(kind, "admin")  # Mojokerto, not the RFQ's city
        strangers += [await actors.key_for(base, role) for role in ROLES]
    leaks = []
    for method, url, json_body in operations:
        for stranger in strangers:
            response = await client.request(method, url, json=json_body, headers=stranger.headers)
            if response.status_code != 404:
                leaks.append(
                    (method, url, stranger.kind.value, stranger.role.value, response.status_code)
                )
        assert_problem(await client.request(method, url, json=json_body), 401)
    assert leaks == []


async def test_goods_received_on_a_purchase_order_are_the_cooperatives_sales_to_government(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The city report counts what the office received, at the order's pre-VAT prices, in
    the month it was received: turnover and sales to government, the office a buyer."""
    office, a = world.office, world.coops[0]
    rfq = await publish(client, office, rfq_body([(world.rice.id, 40)]))
    assert (await quote(client, a, rfq["id"], quote_body([50_000]))).status_code == 201
    await close_quotes(session_factory, rfq["id"])
    po = (await award(client, office, rfq["id"])).json()
    url = f"/v1/procurement/purchase-orders/{po['id']}/receipts"
    for quantity in (25, 10):
        received = await client.post(
            url,
            json={"lines": [{"line_no": 1, "quantity": quantity}], "received_on": DELIVERY},
            headers=office.headers,
        )
        assert received.status_code == 201, received.text
    month = dt.date.fromisoformat(DELIVERY).replace(day=1)
    async with session_factory() as session:
        rows = await FiguresRepository(session).grouped(
            None, a.organization_id, month, month, month
        )
    figures = sums_by_key(rows)[(a.organization_id, month)]
    assert figures["turnover"] == 35 * 50_000
    assert figures["to_government"] == 35 * 50_000
    assert figures["to_kitchens"] == 0
    assert figures["buyers"] == 1  # the office, once however many receipts
