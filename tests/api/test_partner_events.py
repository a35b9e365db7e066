# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_server are parameters here)
"""Every partner event type is emitted by a real flow, to exactly the organizations that
should learn of it, and fans out to their webhook endpoints.

`FLOWS` holds one flow per advertised `EventType` (a test fails if a type has none): the
flow drives the API as the parties would, and says which organizations must receive the
event and what its payload must hold. The test then checks the outbox rows the flow wrote
for that type (one per party, none for anybody else) and, with an endpoint per party and
one for a stranger subscribed to the type, the deliveries the worker's fan-out makes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.db import unit_of_work
from marketplace.procurement.lots.tasks import close_due_lots
from marketplace.webhooks import EVENT_TYPES, EventType
from tests.catalog import create_listing, create_product
from tests.stripe_server import (  # noqa: F401  (fixtures)
    stripe_app,
    stripe_client,
    stripe_server,
    stripe_settings,
)
from tests.support import Actor, Actors

Client = AsyncTestClient[Litestar]
Factory = async_sessionmaker[AsyncSession]
TODAY = dt.date.today()
TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()
MOJOKERTO = "35.76.02.1005"
# Bulog lots: a city of this file's own, a district per flow, so each cooperative's
# branch is the Bulog organization of its own district (the longest shared prefix).
LOT_CITY = "36.74"
LOT_DISTRICTS = itertools.count(10)


class World(msgspec.Struct, kw_only=True):
    client: Client
    actors: Actors
    factory: Factory
    admin: Actor


class Expected(msgspec.Struct, kw_only=True):
    """Per organization that must be told, the payload fields its event must carry."""

    parties: dict[uuid.UUID, dict[str, Any]]


Flow = Callable[[World], Awaitable[Expected]]
FLOWS: dict[EventType, Flow] = {}


def flow(event_type: EventType) -> Callable[[Flow], Flow]:
    def register(function: Flow) -> Flow:
        assert event_type not in FLOWS
        FLOWS[event_type] = function
        return function

    return register


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def keyed(who: Actor) -> dict[str, str]:
    return {**who.headers, "Idempotency-Key": uuid.uuid4().hex}


async def place(w: World, buyer: Actor, product_id: str, quantity: int, region: str) -> Any:
    body = {
        "lines": [{"product_id": product_id, "quantity": quantity}],
        "delivery": {"date": TOMORROW, "region_code": region, "address": "Dapur SPPG"},
    }
    return await ok(await w.client.post("/v1/orders", json=body, headers=keyed(buyer)), 201)


async def handle(w: World, topic: str) -> None:
    """Run the worker's handlers for the unhandled events of `topic` (no queue)."""
    from marketplace.worker import event_handlers

    async with w.factory() as session:
        ids = list(
            (
                await session.execute(
                    text(
                        "SELECT id FROM outbox_events WHERE topic = :t AND handled_at IS NULL "
                        "ORDER BY id"
                    ),
                    {"t": topic},
                )
            ).scalars()
        )
    for event_id in ids:
        async with unit_of_work(w.factory) as uow:
            await outbox.handle_event(uow, event_id, event_handlers())


# --- orders and payments ---------------------------------------------------------------


async def stock_order(w: World, quantity: int = 4) -> tuple[Actor, Actor, Any]:
    """A kitchen's order from a cooperative's own stock."""
    rice = await create_product(w.client, w.admin, price_caps=[])
    coop = await w.actors.org("cooperative", region_code=MOJOKERTO)
    await create_listing(w.client, coop, rice["id"], tiers=[(1, 60_000)], stock=100)
    kitchen = await w.actors.org("kitchen", region_code=MOJOKERTO)
    order = await place(w, kitchen, rice["id"], quantity, MOJOKERTO)
    assert [leg["kind"] for leg in order["legs"]] == ["stock"]
    return kitchen, coop, order


@flow(EventType.ORDER_PLACED)
async def order_placed(w: World) -> Expected:
    kitchen, coop, order = await stock_order(w)
    fields = {"order_id": order["id"], "total": 240_000, "currency": "IDR"}
    return Expected(parties={kitchen.organization_id: fields, coop.organization_id: fields})


@flow(EventType.ORDER_CANCELLED)
async def order_cancelled(w: World) -> Expected:
    kitchen, coop, order = await stock_order(w)
    await ok(await w.client.post(f"/v1/orders/{order['id']}/cancel", headers=kitchen.headers))
    fields = {"order_id": order["id"]}
    return Expected(parties={kitchen.organization_id: fields, coop.organization_id: fields})


@flow(EventType.ORDER_LEG_SHIPPED)
async def order_leg_shipped(w: World) -> Expected:
    kitchen, coop, order = await stock_order(w)
    [leg] = order["legs"]
    await ok(await w.client.post(f"/v1/legs/{leg['id']}/ship", headers=coop.headers))
    return Expected(
        parties={kitchen.organization_id: {"order_id": order["id"], "leg_id": leg["id"]}}
    )


@flow(EventType.ORDER_LEG_DELIVERED)
async def order_leg_delivered(w: World) -> Expected:
    kitchen, coop, order = await stock_order(w)
    [leg] = order["legs"]
    await ok(await w.client.post(f"/v1/legs/{leg['id']}/ship", headers=coop.headers))
    await ok(
        await w.client.post(
            f"/v1/legs/{leg['id']}/deliver", json={"received_quantity": 3}, headers=kitchen.headers
        )
    )
    fields = {"leg_id": leg["id"], "delivered_quantity": 3, "short_quantity": 1}
    return Expected(parties={kitchen.organization_id: fields, coop.organization_id: fields})


async def pay_by_bank(w: World) -> tuple[Actor, Actor, Any, Any]:
    kitchen, coop, order = await stock_order(w)
    payment = await ok(
        await w.client.post(
            f"/v1/orders/{order['id']}/payments",
            json={"method": "bank_transfer"},
            headers=keyed(kitchen),
        ),
        201,
    )
    await ok(
        await w.client.post(
            f"/v1/payments/{payment['id']}/confirm",
            json={"reference": f"BCA-{uuid.uuid4().hex[:8]}"},
            headers=coop.headers,
        )
    )
    return kitchen, coop, order, payment


@flow(EventType.PAYMENT_SUCCEEDED)
async def payment_succeeded(w: World) -> Expected:
    kitchen, coop, _, payment = await pay_by_bank(w)
    fields = {"payment_id": payment["id"], "amount": 240_000, "status": "succeeded"}
    return Expected(parties={kitchen.organization_id: fields, coop.organization_id: fields})


@flow(EventType.PAYMENT_FAILED)
async def payment_failed(w: World) -> Expected:
    kitchen, coop, order = await stock_order(w)
    declined = await ok(
        await w.client.post(
            f"/v1/orders/{order['id']}/payments",
            json={"method": "card", "payment_method": "pm_card_chargeCustomerFail"},
            headers=keyed(kitchen),
        ),
        201,
    )
    assert declined["status"] == "failed"
    fields = {"payment_id": declined["id"], "status": "failed", "method": "card"}
    return Expected(parties={kitchen.organization_id: fields, coop.organization_id: fields})


@flow(EventType.PAYMENT_REFUNDED)
async def payment_refunded(w: World) -> Expected:
    kitchen, coop, order, payment = await pay_by_bank(w)
    await ok(await w.client.post(f"/v1/orders/{order['id']}/cancel", headers=kitchen.headers))
    await handle(w, "order.cancelled")  # the worker grants the refund
    [refund] = (
        await ok(await w.client.get(f"/v1/payments/{payment['id']}", headers=coop.headers))
    )["refunds"]
    await ok(
        await w.client.post(
            f"/v1/refunds/{refund['id']}/confirm", json={"reference": "TRF-1"}, headers=coop.headers
        )
    )
    fields = {"payment_id": payment["id"], "status": "refunded"}
    return Expected(parties={kitchen.organization_id: fields, coop.organization_id: fields})


# --- listings ------------------------------------------------------------------------


@flow(EventType.LISTING_PAUSED)
async def listing_paused(w: World) -> Expected:
    rice = await create_product(w.client, w.admin, price_caps=[])
    coop = await w.actors.org("cooperative", region_code=MOJOKERTO)
    listing = await create_listing(w.client, coop, rice["id"], tiers=[(1, 72_000)], stock=10)
    lowered = await w.client.patch(
        f"/v1/products/{rice['id']}",
        json={"price_caps": [{"region_prefix": "35.76", "max_unit_price": 70_000}]},
        headers=w.admin.headers,
    )
    await ok(lowered)
    fields = {
        "listing_id": listing["id"],
        "reason": "price_above_cap",
        "lowest_unit_price": 72_000,
        "cap": 70_000,
    }
    return Expected(parties={coop.organization_id: fields})


# --- consignment ---------------------------------------------------------------------


@flow(EventType.CONSIGNMENT_STATEMENT_ISSUED)
async def consignment_statement_issued(w: World) -> Expected:
    rice = await create_product(w.client, w.admin, price_caps=[])
    coop = await w.actors.org("cooperative", region_code=MOJOKERTO)
    umkm = await w.actors.org("umkm", region_code=MOJOKERTO)
    kitchen = await w.actors.org("kitchen", region_code=MOJOKERTO)
    agreement = await ok(
        await w.client.post(
            "/v1/consignment/agreements",
            json={
                "consignor_id": str(umkm.organization_id),
                "commission_bps": 1000,
                "settlement_cycle_days": 7,
                "payout_account": {
                    "bank_name": "BRI",
                    "account_number": "0123456789",
                    "account_holder": "Bu Sri",
                },
            },
            headers=coop.headers,
        ),
        201,
    )
    intake = await ok(
        await w.client.post(
            "/v1/consignment/intakes",
            json={
                "agreement_id": agreement["id"],
                "product_id": rice["id"],
                "quantity": 10,
                "unit_price": 50_000,
            },
            headers=coop.headers,
        ),
        201,
    )
    assert intake["status"] == "confirmed"
    order = await place(w, kitchen, rice["id"], 2, MOJOKERTO)
    [leg] = order["legs"]
    assert leg["kind"] == "consignment"
    await ok(await w.client.post(f"/v1/legs/{leg['id']}/ship", headers=coop.headers))
    await ok(
        await w.client.post(
            f"/v1/legs/{leg['id']}/deliver", json={"received_quantity": 2}, headers=kitchen.headers
        )
    )
    await handle(w, "order.leg.delivered")  # the consignment sale is recorded
    run = await ok(
        await w.client.post(
            "/v1/consignment/settlement-runs",
            json={"cutoff": dt.datetime.now(dt.UTC).isoformat()},
            headers=keyed(coop),
        ),
        201,
    )
    [statement] = run["statements"]
    fields = {
        "statement_id": statement["id"],
        "run_id": run["id"],
        "cooperative_organization_id": str(coop.organization_id),
        "consignor_organization_id": str(umkm.organization_id),
        "sales_count": 1,
        "gross_sales": 100_000,
        "commission": 10_000,
        "net_sales": 90_000,
        "payout_due": 90_000,
        "currency": "IDR",
    }
    return Expected(parties={umkm.organization_id: fields, coop.organization_id: fields})


# --- Bulog lots ----------------------------------------------------------------------


async def pooled_lot(w: World) -> tuple[Actor, Actor, Any]:
    """A kitchen's order pooled into a cooperative's open Bulog lot."""
    rice = await create_product(w.client, w.admin, price_caps=[])  # 5 kg sacks: 1 t = 200
    district = f"{LOT_CITY}.{next(LOT_DISTRICTS)}"
    bulog = await w.actors.org("bulog", region_code=f"{district}.1001")
    coop = await w.actors.org("cooperative", region_code=f"{district}.1002")
    await create_listing(
        w.client, coop, rice["id"], tiers=[(1, 62_000)], stock=0, supply_mode="bulog_lot"
    )
    kitchen = await w.actors.org("kitchen", region_code=f"{district}.1003")
    order = await place(w, kitchen, rice["id"], 150, f"{district}.1003")
    assert [leg["kind"] for leg in order["legs"]] == ["bulog_lot"]
    page = await ok(
        await w.client.get("/v1/procurement/bulog-lots?status=open", headers=coop.headers)
    )
    [lot] = [lot for lot in page["items"] if lot["product_id"] == rice["id"]]
    return coop, bulog, lot


@flow(EventType.PROCUREMENT_BULOG_LOT_CLOSED)
async def bulog_lot_closed(w: World) -> Expected:
    coop, bulog, lot = await pooled_lot(w)
    cutoff = dt.datetime.fromisoformat(lot["cutoff_at"])
    await close_due_lots({"session_factory": w.factory, "jobs": None}, now=cutoff)
    fields = {
        "lot_id": lot["id"],
        "status": "closed",
        "reason": "cutoff",
        "bulog_organization_id": str(bulog.organization_id),
        "total_demand": 150,
        "order_quantity": 200,
        "surplus": 50,
    }
    return Expected(parties={coop.organization_id: fields})


async def submitted_lot(w: World) -> tuple[Actor, Actor, Any]:
    coop, bulog, lot = await pooled_lot(w)
    closed = await ok(
        await w.client.post(f"/v1/procurement/bulog-lots/{lot['id']}/submit", headers=coop.headers)
    )
    assert closed["close_reason"] == "submitted"
    return coop, bulog, closed


@flow(EventType.PROCUREMENT_BULOG_LOT_SUBMITTED)
async def bulog_lot_submitted(w: World) -> Expected:
    coop, bulog, lot = await submitted_lot(w)
    po = lot["purchase_order"]
    fields = {
        "lot_id": lot["id"],
        "purchase_order_id": po["id"],
        "bulog_organization_id": str(bulog.organization_id),
        "cooperative_organization_id": str(coop.organization_id),
        "product_id": lot["product_id"],
        "quantity": 200,
        "unit_price": 62_000,
        "total": 200 * 62_000,
        "currency": "IDR",
    }
    return Expected(parties={bulog.organization_id: fields, coop.organization_id: fields})


@flow(EventType.PROCUREMENT_BULOG_LOT_RECEIVED)
async def bulog_lot_received(w: World) -> Expected:
    coop, bulog, lot = await submitted_lot(w)
    await ok(
        await w.client.post(
            f"/v1/procurement/bulog-lots/{lot['id']}/receive",
            json={"received_quantity": 180},
            headers=coop.headers,
        )
    )
    fields = {
        "lot_id": lot["id"],
        "purchase_order_id": lot["purchase_order"]["id"],
        "ordered_quantity": 200,
        "received_quantity": 180,
        "released": 150,
        "unfilled": 0,
        "surplus": 30,
    }
    return Expected(parties={bulog.organization_id: fields, coop.organization_id: fields})


# --- trade contracts -----------------------------------------------------------------

DEPOK = "32.76"
BLITAR = "35.72"


async def signed_contract(w: World) -> tuple[Actor, Actor, list[Actor], Any, Any]:
    eggs = await create_product(
        w.client, w.admin, sku=f"TLR-{uuid.uuid4().hex[:8]}", name="Telur ayam 1 tray",
        category="eggs", unit_code="XPU", unit_label="tray 30 butir", net_content=30,
        net_content_unit="H87", bulog_supplied=False, price_caps=[],
    )  # fmt: skip
    trade_center = await w.actors.org("trade_center", region_code=f"{BLITAR}.01.1001")
    depok = await w.actors.org("government", region_code=f"{DEPOK}.01.1001")
    coops = [
        await w.actors.org("cooperative", region_code=f"{BLITAR}.0{i + 1}.1002") for i in range(2)
    ]
    body = {
        "product_id": eggs["id"],
        "counterparty_organization_id": str(depok.organization_id),
        "weekly_volume": 100,
        "unit_price": 55_000,
        "levy_bps": 150,
        "start_date": (TODAY - dt.timedelta(days=1)).isoformat(),
        "end_date": (TODAY + dt.timedelta(days=60)).isoformat(),
        "suppliers": [
            {"organization_id": str(coops[0].organization_id), "weekly_capacity": 60},
            {"organization_id": str(coops[1].organization_id), "weekly_capacity": 60},
        ],
    }
    contract = await ok(
        await w.client.post(
            "/v1/procurement/trade-contracts", json=body, headers=trade_center.headers
        ),
        201,
    )
    return trade_center, depok, coops, contract, eggs


def every_party(tc: Actor, depok: Actor, coops: list[Actor], fields: Any) -> Expected:
    parties = [tc, depok, *coops]
    return Expected(parties={p.organization_id: fields for p in parties})


@flow(EventType.PROCUREMENT_TRADE_CONTRACT_SIGNED)
async def trade_contract_signed(w: World) -> Expected:
    tc, depok, coops, contract, eggs = await signed_contract(w)
    fields = {
        "contract_id": contract["id"],
        "trade_center_organization_id": str(tc.organization_id),
        "counterparty_organization_id": str(depok.organization_id),
        "counterparty_city_code": DEPOK,
        "product_id": eggs["id"],
        "weekly_volume": 100,
        "unit_price": 55_000,
        "levy_bps": 150,
        "currency": "IDR",
        "allotments": [
            {
                "allotment_id": a["id"],
                "supplier_organization_id": a["supplier_organization_id"],
                "weekly_quantity": 50,
            }
            for a in contract["allotments"]
        ],
    }
    return every_party(tc, depok, coops, fields)


@flow(EventType.PROCUREMENT_TRADE_CONTRACT_REALLOTTED)
async def trade_contract_reallotted(w: World) -> Expected:
    tc, depok, coops, contract, _ = await signed_contract(w)
    short, other = contract["allotments"]
    url = f"/v1/procurement/trade-contracts/{contract['id']}/allotments/{short['id']}/shortfall"
    supplier = {str(c.organization_id): c for c in coops}[short["supplier_organization_id"]]
    result = await ok(await w.client.post(url, json={"quantity": 20}, headers=supplier.headers))
    assert result["unplaced"] == 10  # the other supplier had room for 10 more
    fields = {
        "contract_id": contract["id"],
        "allotment_id": short["id"],
        "supplier_organization_id": short["supplier_organization_id"],
        "shortfall": 20,
        "unplaced": 10,
        "contract_unplaced": 10,
        "allotments": [
            {
                "allotment_id": short["id"],
                "supplier_organization_id": short["supplier_organization_id"],
                "weekly_quantity": 30,
            },
            {
                "allotment_id": other["id"],
                "supplier_organization_id": other["supplier_organization_id"],
                "weekly_quantity": 60,
            },
        ],
    }
    return every_party(tc, depok, coops, fields)


@flow(EventType.PROCUREMENT_TRADE_CONTRACT_SHIPMENT_RECORDED)
async def trade_contract_shipment_recorded(w: World) -> Expected:
    tc, depok, coops, contract, _ = await signed_contract(w)
    allotment = contract["allotments"][0]
    supplier = {str(c.organization_id): c for c in coops}[allotment["supplier_organization_id"]]
    shipment = await ok(
        await w.client.post(
            f"/v1/procurement/trade-contracts/{contract['id']}/shipments",
            json={"allotment_id": allotment["id"], "quantity": 5, "reference": "SJ-001"},
            headers=keyed(supplier),
        ),
        201,
    )
    fields = {
        "contract_id": contract["id"],
        "shipment_id": shipment["id"],
        "allotment_id": allotment["id"],
        "supplier_organization_id": str(supplier.organization_id),
        "order_leg_id": None,
        "reference": "SJ-001",
        "quantity": 5,
        "amount": 5 * 55_000,
        "levy": 5 * 55_000 * 150 // 10_000,
        "currency": "IDR",
    }
    return Expected(parties={p.organization_id: fields for p in (tc, depok, supplier)})


async def test_a_shipped_call_off_is_a_shipment_for_the_contract_parties_too(
    stripe_client: Client, session_factory: Factory
) -> None:
    w = await world_of(stripe_client, session_factory)
    tc, depok, coops, contract, eggs = await signed_contract(w)
    kitchen = await w.actors.org("kitchen", region_code=f"{DEPOK}.02.1003")
    since = await database_now(session_factory)
    order = await place(w, kitchen, eggs["id"], 10, f"{DEPOK}.02.1003")
    [leg] = order["legs"]
    assert leg["kind"] == "trade_contract"
    supplier = {str(c.organization_id): c for c in coops}[leg["supplier_organization_id"]]
    await ok(await w.client.post(f"/v1/legs/{leg['id']}/ship", headers=supplier.headers))

    rows = await events_since(
        session_factory, EventType.PROCUREMENT_TRADE_CONTRACT_SHIPMENT_RECORDED, since
    )
    assert sorted(org for org, _ in rows) == sorted(
        p.organization_id for p in (tc, depok, supplier)
    )
    for _, payload in rows:
        assert payload["order_leg_id"] == leg["id"]
        assert (payload["quantity"], payload["amount"], payload["levy"]) == (
            10,
            leg["subtotal"],
            leg["levy_amount"],
        )
        assert payload["contract_id"] == contract["id"]


# --- government sourcing ---------------------------------------------------------------


async def published_rfq(w: World) -> tuple[Actor, Actor, Any]:
    rice = await create_product(w.client, w.admin, price_caps=[])
    office = await w.actors.org("government", region_code="35.76")
    coop = await w.actors.org("cooperative", region_code="35.76.01.1001")
    body = {
        "title": "Sembako untuk dapur umum kecamatan",
        "items": [{"product_id": rice["id"], "quantity": 100}],
        "delivery": {
            "date": (TODAY + dt.timedelta(days=5)).isoformat(),
            "region_code": MOJOKERTO,
            "address": "Jl. Gajah Mada 100",
        },
        "budget_code": "RUP-2026-35760-0042",
        "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat(),
        "evaluation_rule": "lowest_price",
    }
    rfq = await ok(
        await w.client.post("/v1/procurement/rfqs", json=body, headers=office.headers), 201
    )
    return office, coop, rfq


async def awarded_po(w: World) -> tuple[Actor, Actor, Any]:
    office, coop, rfq = await published_rfq(w)
    await ok(
        await w.client.post(
            f"/v1/procurement/rfqs/{rfq['id']}/quotes",
            json={
                "lines": [{"line_no": 1, "unit_price": 64_000}],
                "delivery_promise_date": (TODAY + dt.timedelta(days=4)).isoformat(),
            },
            headers=coop.headers,
        ),
        201,
    )
    async with w.factory() as session:  # the deadline passes (tests don't wait two hours)
        await session.execute(
            text("UPDATE sourcing_rfqs SET deadline = now() - interval '1 second' WHERE id = :id"),
            {"id": uuid.UUID(rfq["id"])},
        )
        await session.commit()
    po = await ok(
        await w.client.post(
            f"/v1/procurement/rfqs/{rfq['id']}/award", json={}, headers=keyed(office)
        ),
        201,
    )
    return office, coop, po


async def invoiced_po(w: World) -> tuple[Actor, Actor, Any, Any]:
    office, coop, po = await awarded_po(w)
    await ok(
        await w.client.post(
            f"/v1/procurement/purchase-orders/{po['id']}/receipts",
            json={
                "lines": [{"line_no": 1, "quantity": 100}],
                "received_on": TODAY.isoformat(),
                "document_number": "BAST/035/2026",
            },
            headers=office.headers,
        ),
        201,
    )
    invoice = await ok(
        await w.client.post(
            f"/v1/procurement/purchase-orders/{po['id']}/invoice", headers=coop.headers
        ),
        201,
    )
    return office, coop, po, invoice


@flow(EventType.PROCUREMENT_RFQ_PUBLISHED)
async def rfq_published(w: World) -> Expected:
    office, _, rfq = await published_rfq(w)
    return Expected(parties={office.organization_id: {"rfq_id": rfq["id"], "items": 1}})


@flow(EventType.PROCUREMENT_PURCHASE_ORDER_CREATED)
async def purchase_order_created(w: World) -> Expected:
    office, coop, po = await awarded_po(w)
    fields = {
        "purchase_order_id": po["id"],
        "buyer_organization_id": str(office.organization_id),
        "total": 6_400_000,
    }
    return Expected(parties={coop.organization_id: fields})


@flow(EventType.PROCUREMENT_INVOICE_ISSUED)
async def invoice_issued(w: World) -> Expected:
    office, coop, po, invoice = await invoiced_po(w)
    # Rice is exempt; PPh 22 is 1.5 % of 6,400,000.
    fields = {
        "purchase_order_id": po["id"],
        "invoice_id": invoice["id"],
        "issued_by_organization_id": str(coop.organization_id),
        "subtotal": 6_400_000,
        "vat": 0,
        "total": 6_400_000,
        "pph22": 96_000,
        "net_payable": 6_304_000,
        "currency": "IDR",
    }
    return Expected(parties={office.organization_id: fields, coop.organization_id: fields})


@flow(EventType.PROCUREMENT_TREASURY_PAYMENT_RECORDED)
async def treasury_payment_recorded(w: World) -> Expected:
    office, coop, po, invoice = await invoiced_po(w)
    paid = await ok(
        await w.client.post(
            f"/v1/procurement/purchase-orders/{po['id']}/payments",
            json={
                "sp2d_number": "SP2D-0042/2026",
                "amount": invoice["net_payable"],
                "paid_on": TODAY.isoformat(),
            },
            headers=keyed(office),
        ),
        201,
    )
    fields = {
        "purchase_order_id": po["id"],
        "invoice_id": invoice["id"],
        "payment_id": paid["payment"]["id"],
        "sp2d_number": "SP2D-0042/2026",
        "paid_on": TODAY.isoformat(),
        "amount": 6_304_000,
        "currency": "IDR",
    }
    return Expected(parties={office.organization_id: fields, coop.organization_id: fields})


# --- the checks ----------------------------------------------------------------------


async def world_of(client: Client, factory: Factory) -> World:
    actors = Actors(client, factory)
    return World(client=client, actors=actors, factory=factory, admin=await actors.platform_admin())


async def database_now(factory: Factory) -> dt.datetime:
    async with factory() as session:
        moment: dt.datetime = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
    return moment


async def events_since(
    factory: Factory, topic: str, since: dt.datetime
) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    async with factory() as session:
        rows = await session.execute(
            text(
                "SELECT organization_id, payload FROM outbox_events "
                "WHERE topic = :t AND created_at >= :since ORDER BY id"
            ),
            {"t": topic, "since": since},
        )
        return [(row[0], row[1]) for row in rows]


def test_every_advertised_event_type_has_a_flow() -> None:
    assert set(FLOWS) == set(EventType)
    assert {e.value for e in FLOWS} == EVENT_TYPES


@pytest.mark.parametrize("event_type", list(EventType))
async def test_each_partner_event_is_emitted_to_its_parties_and_reaches_their_endpoints(
    event_type: EventType, stripe_client: Client, session_factory: Factory
) -> None:
    w = await world_of(stripe_client, session_factory)
    since = await database_now(session_factory)
    expected = await FLOWS[event_type](w)

    # The outbox: one event per party, none for anybody else, each carrying its figures.
    rows = await events_since(session_factory, event_type, since)
    assert sorted(org for org, _ in rows) == sorted(expected.parties), rows
    for organization_id, payload in rows:
        wanted = expected.parties[organization_id]
        assert {k: payload.get(k) for k in wanted} == wanted, payload

    # The partners: each party's endpoint gets the event, a stranger's endpoint does not.
    stranger = await w.actors.org("cooperative", region_code=MOJOKERTO)
    endpoints: dict[uuid.UUID, tuple[Actor, str]] = {}
    for organization_id in [*expected.parties, stranger.organization_id]:
        key = await key_of(w, organization_id)
        endpoint = await ok(
            await w.client.post(
                "/v1/webhook-endpoints",
                json={"url": "http://127.0.0.1:9/hooks", "event_types": [event_type.value]},
                headers=key.headers,
            ),
            201,
        )
        endpoints[organization_id] = (key, endpoint["id"])
    await handle(w, event_type.value)
    for organization_id, (key, endpoint_id) in endpoints.items():
        page = await ok(
            await w.client.get(
                f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=key.headers
            )
        )
        got = [(d["event_type"], d["state"]) for d in page["items"]]
        if organization_id == stranger.organization_id:
            assert got == []
        else:
            assert got == [(event_type.value, "pending")]


async def key_of(w: World, organization_id: uuid.UUID) -> Actor:
    """An admin key of any organization (made for the test, as a platform would)."""
    from marketplace.accounts.domain import OrganizationKind, Role

    placeholder = Actor(
        organization_id=organization_id,
        kind=OrganizationKind.COOPERATIVE,
        role=Role.ADMIN,
        key="",
        region_code="",
    )
    return await w.actors.key_for(placeholder, Role.ADMIN)
