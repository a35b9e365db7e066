"""Consignment through the API: agreement → intake → order → delivery → sale → settlement
→ statement → payout → ledger, with authorization and bad-input checks."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.consignment import sales as consignment_sales
from marketplace.db import unit_of_work
from marketplace.orders.domain.events import OrderLegDelivered
from tests.builders import orders
from tests.builders.catalog import Product, new_product
from tests.builders.consignment import (
    BANK,
    consigned_oil,
    create_agreement,
    intake_body,
    post_intake,
)
from tests.builders.legacy import LegacyKeys
from tests.support import Actor, Actors, assert_problem, local_today

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def handlers() -> outbox.EventHandlers:
    registry = outbox.EventHandlers()
    registry.register(OrderLegDelivered, consignment_sales.on_leg_delivered)
    return registry


async def run_outbox(factory: async_sessionmaker[AsyncSession], topic: str) -> int:
    """Handle the unhandled events of `topic` (what the worker does), each twice: the
    second time is a no-op. Other topics of the same orders are marked handled too (no
    handlers here), so this file leaves no backlog for the outbox sweeper tests."""
    async with factory() as session:
        rows = (
            await session.execute(
                select(outbox.OutboxEvent.id, outbox.OutboxEvent.payload).where(
                    outbox.OutboxEvent.topic == topic, outbox.OutboxEvent.handled_at.is_(None)
                )
            )
        ).all()
        order_ids = sorted({str(payload.get("order_id")) for _, payload in rows})
        others = list(
            (
                await session.execute(
                    select(outbox.OutboxEvent.id).where(
                        outbox.OutboxEvent.topic != topic,
                        outbox.OutboxEvent.topic.like("order.%"),
                        outbox.OutboxEvent.handled_at.is_(None),
                        outbox.OutboxEvent.payload["order_id"].astext.in_(order_ids),
                    )
                )
            ).scalars()
        )
    handled = 0
    for event_id in [event_id for event_id, _ in rows] * 2 + others:
        async with unit_of_work(factory) as uow:
            handled += await outbox.handle_event(uow, event_id, handlers())
    return handled


async def count(factory: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> int:
    async with factory() as session:
        return int((await session.execute(text(sql), params)).scalar_one())


@dataclass(frozen=True)
class ConsignmentWorld(LegacyKeys):
    """A cooperative taking goods on consignment from a UMKM in its village, outsiders of
    both kinds, and a kitchen nearby."""

    admin: Actor
    rice: Product
    coop: Actor
    coop_seller: Actor
    coop_finance: Actor
    umkm: Actor
    other_umkm: Actor
    other_coop: Actor
    kitchen: Actor
    actors: Actors


@pytest.fixture
async def world(client: AsyncTestClient[Litestar], actors: Actors) -> ConsignmentWorld:
    admin = await actors.platform_admin()
    rice = await new_product(client, admin)  # cap Rp70,000 in province 35
    coop = await actors.org("cooperative", "admin", region_code="35.76.02.1005")
    umkm = await actors.org("umkm", "seller", region_code="35.76.02.1005")
    return ConsignmentWorld(
        admin=admin,
        rice=rice,
        coop=coop,
        coop_seller=await actors.key_for(coop, "seller"),
        coop_finance=await actors.key_for(coop, "finance"),
        umkm=umkm,
        other_umkm=await actors.org("umkm", "admin"),
        other_coop=await actors.org("cooperative", "admin"),
        kitchen=await actors.org("kitchen", "buyer", region_code="35.76.02.1005"),
        actors=actors,
    )


async def make_agreement(
    client: AsyncTestClient[Litestar], coop: Actor, umkm: Actor, bps: int = 1000
) -> dict[str, Any]:
    return await create_agreement(client, coop, umkm, bps=bps)


class ConsignmentSale(Protocol):
    """Who an `order_and_deliver` sale involves: a world, or just its parties."""

    @property
    def rice(self) -> Product: ...
    @property
    def coop_seller(self) -> Actor: ...
    @property
    def umkm(self) -> Actor: ...
    @property
    def kitchen(self) -> Actor: ...


@dataclass(frozen=True)
class SaleParties:
    rice: Product
    coop_seller: Actor
    umkm: Actor
    kitchen: Actor


async def order_and_deliver(
    client: AsyncTestClient[Litestar], w: ConsignmentSale, quantity: int, received: int
) -> dict[str, Any]:
    kitchen = w.kitchen
    response = await orders.place_order(
        client,
        kitchen,
        orders.order_body([(w.rice.id, quantity)], date=TOMORROW, address="SPPG 1"),
    )
    assert response.status_code == 201, response.text
    [leg] = response.json()["legs"]
    assert leg["kind"] == "consignment"
    assert leg["owner_organization_id"] == str(w.umkm.organization_id)
    shipped = await client.post(f"/v1/legs/{leg['id']}/ship", headers=w.coop_seller.headers)
    assert shipped.status_code == 200, shipped.text
    delivered = await client.post(
        f"/v1/legs/{leg['id']}/deliver",
        json={"received_quantity": received},
        headers=kitchen.headers,
    )
    assert delivered.status_code == 200, delivered.text
    result: dict[str, Any] = delivered.json()
    return result


async def test_consignment_end_to_end(
    client: AsyncTestClient[Litestar],
    world: ConsignmentWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    w = world
    coop, umkm, finance = w.coop, w.umkm, w.coop_finance
    agreement = await make_agreement(client, coop, umkm, bps=1000)
    # Both parties see the agreement.
    seen = await client.get(f"/v1/consignment/agreements/{agreement['id']}", headers=umkm.headers)
    assert seen.status_code == 200
    assert seen.json()["commission_bps"] == 1000

    # The UMKM proposes; nothing is in stock until the cooperative confirms receipt.
    proposed = await post_intake(
        client,
        umkm,
        intake_body(
            agreement["id"],
            w.rice.id,
            quantity=20,
            unit_price=60_000,
            expiry_date=(dt.date.today() + dt.timedelta(days=90)),
        ),
    )
    assert proposed.status_code == 201, proposed.text
    intake = proposed.json()
    assert (intake["status"], intake["listing_id"]) == ("proposed", None)
    confirmed = await client.post(
        f"/v1/consignment/intakes/{intake['id']}/confirm",
        json={"received_quantity": 18},
        headers=w.coop_seller.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    intake = confirmed.json()
    assert (intake["status"], intake["received_quantity"]) == ("confirmed", 18)
    listing = (
        await client.get(f"/v1/listings/{intake['listing_id']}", headers=coop.headers)
    ).json()
    assert listing["on_hand"] == 18
    assert listing["owner_organization_id"] == str(umkm.organization_id)

    # Kitchen orders 10, only 7 arrive: 7 sold at 10% commission.
    leg1 = await order_and_deliver(client, w, 10, 7)
    assert await run_outbox(session_factory, "order.leg.delivered") >= 1
    # Terms change only going forward.
    patched = await client.patch(
        f"/v1/consignment/agreements/{agreement['id']}",
        json={"commission_bps": 2000},
        headers=coop.headers,
    )
    assert patched.status_code == 200, patched.text
    leg2 = await order_and_deliver(client, w, 2, 2)
    # A leg delivered with nothing received sells nothing.
    await order_and_deliver(client, w, 1, 0)
    await run_outbox(session_factory, "order.leg.delivered")
    sales = await count(
        session_factory,
        "SELECT count(*) FROM consignment_sales WHERE consignor_id = :c",
        c=umkm.organization_id,
    )
    assert sales == 2

    # Return 3 unsold sacks: 18 - 10 - 2 - 1 shipped = 5 on hand → 2.
    returned = await client.post(
        "/v1/consignment/returns",
        json={"intake_id": intake["id"], "quantity": 3, "reason": "kemasan rusak"},
        headers=w.coop_seller.headers,
    )
    assert returned.status_code == 201, returned.text
    listing = (
        await client.get(f"/v1/listings/{intake['listing_id']}", headers=coop.headers)
    ).json()
    assert listing["on_hand"] == 2

    # Settle.
    cutoff = dt.datetime.now(dt.UTC).isoformat()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    run = await client.post(
        "/v1/consignment/settlement-runs",
        json={"cutoff": cutoff},
        headers={**finance.headers, **key},
    )
    assert run.status_code == 201, run.text
    body = run.json()
    [statement] = body["statements"]
    gross = 7 * 60_000 + 2 * 60_000
    commission = 7 * 60_000 * 1000 // 10_000 + 2 * 60_000 * 2000 // 10_000
    assert statement["sales_count"] == 2
    assert statement["gross_sales"] == gross == 540_000
    assert statement["commission"] == commission == 66_000
    assert statement["net_sales"] == gross - commission
    assert (statement["returns_count"], statement["returns_quantity"]) == (1, 3)
    assert statement["opening_balance"] == 0
    assert statement["payout_due"] == 474_000
    assert statement["closing_balance"] == 0
    assert statement["payout_status"] == "pending"
    replay = await client.post(
        "/v1/consignment/settlement-runs",
        json={"cutoff": cutoff},
        headers={**finance.headers, **key},
    )
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == body

    # The UMKM owner's page.
    mine = await client.get("/v1/consignment/statements", headers=umkm.headers)
    assert [s["id"] for s in mine.json()["items"]] == [statement["id"]]
    detail = await client.get(f"/v1/consignment/statements/{statement['id']}", headers=umkm.headers)
    assert detail.status_code == 200
    lines = detail.json()["sales"]
    assert sorted((s["leg_id"], s["quantity"], s["commission_bps"]) for s in lines) == sorted(
        [(leg1["id"], 7, 1000), (leg2["id"], 2, 2000)]
    )
    assert sum(s["net_amount"] for s in lines) == statement["payout_due"]
    # Another UMKM: 404 and an empty list.
    other = w.other_umkm
    assert_problem(
        await client.get(f"/v1/consignment/statements/{statement['id']}", headers=other.headers),
        404,
    )
    assert (await client.get("/v1/consignment/statements", headers=other.headers)).json()[
        "items"
    ] == []

    # Pay out.
    payout_id = statement["payout_id"]
    assert_problem(
        await client.post(
            f"/v1/consignment/payouts/{payout_id}/mark-paid",
            json={"bank_reference": "x"},
            headers=umkm.headers,
        ),
        403,
    )
    assert_problem(
        await client.post(
            f"/v1/consignment/payouts/{payout_id}/mark-paid",
            json={"bank_reference": "x"},
            headers=w.other_coop.headers,
        ),
        404,
    )
    paid = await client.post(
        f"/v1/consignment/payouts/{payout_id}/mark-paid",
        json={"bank_reference": "BRI-20261122-001"},
        headers=finance.headers,
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"

    # The books: every transaction balances; the consignor's payable is settled to zero.
    assert (
        await count(
            session_factory,
            "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries "
            "GROUP BY transaction_id HAVING sum(amount) <> 0) x",
        )
        == 0
    )
    payable = await count(
        session_factory,
        "SELECT COALESCE(sum(amount), 0) FROM ledger_entries WHERE organization_id = :c "
        "AND purpose = 'consignor_payable'",
        c=umkm.organization_id,
    )
    assert payable == 0
    revenue = await count(
        session_factory,
        "SELECT COALESCE(sum(amount), 0) FROM ledger_entries WHERE organization_id = :c "
        "AND purpose = 'commission_revenue'",
        c=coop.organization_id,
    )
    assert revenue == -commission

    # Nothing left to settle.
    again = await client.post(
        "/v1/consignment/settlement-runs",
        json={"cutoff": dt.datetime.now(dt.UTC).isoformat()},
        headers={**finance.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert again.status_code == 201
    assert again.json()["statements"] == []


async def test_agreement_authorization_and_bad_input(
    client: AsyncTestClient[Litestar],
    world: ConsignmentWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    w = world
    coop, umkm = w.coop, w.umkm
    good = {
        "consignor_id": str(umkm.organization_id),
        "commission_bps": 1000,
        "settlement_cycle_days": 7,
        "payout_account": BANK,
    }
    url = "/v1/consignment/agreements"
    assert_problem(await client.post(url, json=good), 401)
    assert_problem(await client.post(url, json=good, headers=w.coop_seller.headers), 403)
    assert_problem(await client.post(url, json=good, headers=w.other_umkm.headers), 403)
    for bad in (
        {**good, "commission_bps": 5001},
        {**good, "commission_bps": -1},
        {**good, "settlement_cycle_days": 0},
        {**good, "surprise": 1},
        {**good, "payout_account": {**BANK, "account_number": "12ab"}},
    ):
        assert_problem(await client.post(url, json=bad, headers=coop.headers), 400)
    assert_problem(
        await client.post(
            url,
            json={**good, "consignor_id": str(w.kitchen.organization_id)},
            headers=coop.headers,
        ),
        422,
        "consignment.not_a_consignor",
    )
    assert (
        await count(
            session_factory,
            "SELECT count(*) FROM consignment_agreements WHERE cooperative_id = :c",
            c=coop.organization_id,
        )
        == 0
    )

    agreement = await make_agreement(client, coop, umkm)
    assert_problem(await client.post(url, json=good, headers=coop.headers), 409)
    aid = agreement["id"]
    for who in (w.other_umkm, w.other_coop):
        assert_problem(await client.get(f"{url}/{aid}", headers=who.headers), 404)
        assert_problem(
            await client.patch(f"{url}/{aid}", json={"commission_bps": 1}, headers=who.headers),
            404,
        )
    assert_problem(
        await client.patch(f"{url}/{aid}", json={"commission_bps": 1}, headers=umkm.headers), 403
    )
    assert (await client.get(url, headers=w.other_coop.headers)).json()["items"] == []

    # Intakes: another UMKM can't use the agreement; received > proposed; price above cap.
    intake_body = {
        "agreement_id": aid,
        "product_id": w.rice.id,
        "quantity": 5,
        "unit_price": 60_000,
    }
    assert_problem(
        await client.post(
            "/v1/consignment/intakes", json=intake_body, headers=w.other_umkm.headers
        ),
        404,
    )
    assert_problem(
        await client.post(
            "/v1/consignment/intakes", json={**intake_body, "quantity": 0}, headers=umkm.headers
        ),
        400,
    )
    # Above the cap (Rp70,000 in province 35) at the proposal: refused there, nothing kept.
    pricey = await client.post(
        "/v1/consignment/intakes", json={**intake_body, "unit_price": 80_000}, headers=umkm.headers
    )
    refusal = assert_problem(pricey, 422, "listings.price_above_cap")
    assert (refusal["extra"]["cap"], refusal["extra"]["unit_price"]) == (70_000, 80_000)
    assert refusal["extra"]["region_prefix"] == "35"
    listed = await client.get("/v1/consignment/intakes", headers=umkm.headers)
    assert listed.json()["items"] == []
    # Within the cap when proposed; the cap then falls below it before the goods arrive.
    proposed = await client.post("/v1/consignment/intakes", json=intake_body, headers=umkm.headers)
    assert proposed.status_code == 201, proposed.text
    pricey_id = proposed.json()["id"]
    product_url = f"/v1/products/{w.rice.id}"
    lowered = await client.patch(
        product_url,
        json={"price_caps": [{"region_prefix": "35", "max_unit_price": 55_000}]},
        headers=w.admin.headers,
    )
    assert lowered.status_code == 200, lowered.text
    confirm = f"/v1/consignment/intakes/{pricey_id}/confirm"
    assert_problem(
        await client.post(confirm, json={"received_quantity": 5}, headers=umkm.headers), 403
    )
    assert_problem(
        await client.post(confirm, json={"received_quantity": 5}, headers=w.other_coop.headers),
        404,
    )
    assert_problem(
        await client.post(confirm, json={"received_quantity": 6}, headers=coop.headers),
        422,
        "consignment.received_more_than_proposed",
    )
    assert_problem(
        await client.post(confirm, json={"received_quantity": 5}, headers=coop.headers),
        422,
        "listings.price_above_cap",
    )
    still = await client.get(f"/v1/consignment/intakes/{pricey_id}", headers=umkm.headers)
    assert (still.json()["status"], still.json()["listing_id"]) == ("proposed", None)
    rejected = await client.post(
        f"/v1/consignment/intakes/{pricey_id}/reject",
        json={"reason": "di atas HET"},
        headers=coop.headers,
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert_problem(
        await client.post(confirm, json={"received_quantity": 5}, headers=coop.headers), 409
    )
    restored = await client.patch(
        product_url,
        json={"price_caps": [{"region_prefix": "35", "max_unit_price": 70_000}]},
        headers=w.admin.headers,
    )
    assert restored.status_code == 200, restored.text

    # A cooperative records an intake directly: confirmed at once.
    direct = await client.post(
        "/v1/consignment/intakes", json=intake_body, headers=w.coop_seller.headers
    )
    assert direct.status_code == 201, direct.text
    assert direct.json()["status"] == "confirmed"
    # Returns: too many, wrong party.
    rid = direct.json()["id"]
    assert_problem(
        await client.post(
            "/v1/consignment/returns",
            json={"intake_id": rid, "quantity": 6, "reason": "x"},
            headers=coop.headers,
        ),
        422,
    )
    assert_problem(
        await client.post(
            "/v1/consignment/returns",
            json={"intake_id": rid, "quantity": 1, "reason": "x"},
            headers=w.other_coop.headers,
        ),
        404,
    )
    assert_problem(
        await client.post(
            "/v1/consignment/returns",
            json={"intake_id": rid, "quantity": 1, "reason": "x"},
            headers=umkm.headers,
        ),
        403,
    )

    # Settlement runs: key required, finance role, no future cut-off.
    runs = "/v1/consignment/settlement-runs"
    now = dt.datetime.now(dt.UTC)
    assert_problem(
        await client.post(runs, json={"cutoff": now.isoformat()}, headers=w.coop_finance.headers),
        400,
    )
    key = {"Idempotency-Key": uuid.uuid4().hex}
    assert_problem(
        await client.post(
            runs, json={"cutoff": now.isoformat()}, headers={**w.coop_seller.headers, **key}
        ),
        403,
    )
    assert_problem(
        await client.post(
            runs,
            json={"cutoff": (now + dt.timedelta(days=1)).isoformat()},
            headers={**w.coop_finance.headers, **key},
        ),
        422,
        "consignment.cutoff_in_future",
    )
    assert (
        await count(
            session_factory,
            "SELECT count(*) FROM consignment_settlement_runs WHERE cooperative_id = :c",
            c=coop.organization_id,
        )
        == 0
    )

    # Ending the agreement stops new intakes.
    ended = await client.post(f"{url}/{aid}/end", headers=coop.headers)
    assert ended.status_code == 200
    assert ended.json()["status"] == "ended"
    assert_problem(
        await client.post("/v1/consignment/intakes", json=intake_body, headers=umkm.headers),
        409,
        "consignment.agreement_not_active",
    )


async def test_expired_intakes_are_flagged_for_return(
    client: AsyncTestClient[Litestar],
    world: ConsignmentWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from marketplace.consignment import tasks

    w = world
    agreement = await make_agreement(client, w.coop, w.umkm)
    direct = await post_intake(
        client,
        w.coop,
        intake_body(
            agreement["id"],
            w.rice.id,
            quantity=4,
            unit_price=50_000,
            expiry_date=(local_today() + dt.timedelta(days=1)),
        ),
    )
    assert direct.status_code == 201, direct.text
    intake_id = direct.json()["id"]
    async with session_factory() as session:
        await session.execute(
            text("UPDATE consignment_intakes SET expiry_date = current_date - 1 WHERE id = :i"),
            {"i": intake_id},
        )
        await session.commit()
    assert await tasks.flag_expired({"session_factory": session_factory}) >= 1
    expired = await client.get("/v1/consignment/intakes?expired=true", headers=w.coop.headers)
    assert [i["id"] for i in expired.json()["items"]] == [intake_id]
    back = await client.post(
        "/v1/consignment/returns",
        json={"intake_id": intake_id, "quantity": 4, "reason": "kedaluwarsa"},
        headers=w.coop.headers,
    )
    assert back.status_code == 201, back.text
    expired = await client.get("/v1/consignment/intakes?expired=true", headers=w.coop.headers)
    assert expired.json()["items"] == []


def test_worker_registers_the_sale_handler() -> None:
    from marketplace.worker import CRON_JOBS, event_handlers

    assert consignment_sales.on_leg_delivered in event_handlers().for_topic(
        consignment_sales.LEG_DELIVERED
    )
    names = {job.name for job in CRON_JOBS}
    assert {"consignment.flag_expired", "consignment.settle_due"} <= names


CONSIGNMENT_OBJECT_OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/consignment/agreements/{agreement_id}", None),
    ("PATCH", "/v1/consignment/agreements/{agreement_id}", {"commission_bps": 1}),
    ("POST", "/v1/consignment/agreements/{agreement_id}/end", None),
    ("GET", "/v1/consignment/intakes/{intake_id}", None),
    ("POST", "/v1/consignment/intakes/{intake_id}/confirm", {"received_quantity": 1}),
    ("POST", "/v1/consignment/intakes/{intake_id}/reject", {"reason": "x"}),
    ("GET", "/v1/consignment/statements/{statement_id}", None),
    ("GET", "/v1/consignment/payouts/{payout_id}", None),
    ("POST", "/v1/consignment/payouts/{payout_id}/mark-paid", {"bank_reference": "x"}),
    ("GET", "/v1/consignment/adjustments/{adjustment_id}", None),
]


async def test_other_organizations_get_404_on_every_consignment_object(
    client: AsyncTestClient[Litestar],
    world: ConsignmentWorld,
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    w = world
    agreement = await make_agreement(client, w.coop, w.umkm)
    proposed = await post_intake(
        client,
        w.umkm,
        intake_body(agreement["id"], w.rice.id, quantity=5, unit_price=60_000),
    )
    confirmed = await post_intake(
        client,
        w.coop,
        intake_body(agreement["id"], w.rice.id, quantity=5, unit_price=60_000),
    )
    assert confirmed.status_code == 201, confirmed.text
    await order_and_deliver(client, w, 2, 2)
    await run_outbox(session_factory, "order.leg.delivered")
    run = await client.post(
        "/v1/consignment/settlement-runs",
        json={"cutoff": dt.datetime.now(dt.UTC).isoformat()},
        headers={**w.coop_finance.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    [statement] = run.json()["statements"]
    adjustment = await adjust(
        client,
        w.coop_finance,
        consignor_id=str(w.umkm.organization_id),
        amount=-1_000,
        reason="damaged sack",
    )
    assert adjustment.status_code == 201, adjustment.text
    ids = {
        "agreement_id": agreement["id"],
        "intake_id": proposed.json()["id"],
        "statement_id": statement["id"],
        "payout_id": statement["payout_id"],
        "adjustment_id": adjustment.json()["id"],
    }
    strangers = []
    for kind in ("cooperative", "umkm", "kitchen"):
        base = await actors.org(kind, "admin")
        strangers += [
            await actors.key_for(base, role)
            for role in ("admin", "buyer", "seller", "finance", "procurement", "viewer")
        ]
    leaks = []
    for method, path, body in CONSIGNMENT_OBJECT_OPERATIONS:
        url = path.format(**ids)
        for stranger in strangers:
            response = await client.request(method, url, headers=stranger.headers, json=body)
            if response.status_code != 404:
                leaks.append((method, path, stranger.kind.value, stranger.role.value))
        assert_problem(await client.request(method, url, json=body), 401)
    assert leaks == []
    # Nothing changed: the agreement, the intake and the payout are as they were.
    assert (
        await client.get(
            f"/v1/consignment/agreements/{ids['agreement_id']}", headers=w.coop.headers
        )
    ).json()["status"] == "active"
    assert (
        await client.get(f"/v1/consignment/intakes/{ids['intake_id']}", headers=w.coop.headers)
    ).json()["status"] == "proposed"
    assert (
        await client.get(f"/v1/consignment/payouts/{ids['payout_id']}", headers=w.umkm.headers)
    ).json()["status"] == "pending"


async def test_platform_settlement_run_for_an_unknown_cooperative_is_404(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    """Found by the reliability battery's schemathesis run: this was a 500 (FK violation)."""
    admin = await actors.platform_admin()
    kitchen = await actors.org("kitchen", "buyer")
    for cooperative_id in (str(uuid.uuid4()), str(kitchen.organization_id)):
        response = await client.post(
            "/v1/consignment/settlement-runs",
            json={"cooperative_id": cooperative_id, "cutoff": "2026-01-01T00:00:00Z"},
            headers={**admin.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert_problem(response, 404)


async def adjust(
    client: AsyncTestClient[Litestar], actor: Actor, key: str | None = None, **body: Any
) -> Any:
    headers = {**actor.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    return await client.post("/v1/consignment/adjustments", json=body, headers=headers)


async def test_adjustments_are_settled_once_and_shown_on_the_statement(
    client: AsyncTestClient[Litestar],
    world: ConsignmentWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    w = world
    coop, umkm, finance = w.coop, w.umkm, w.coop_finance
    await make_agreement(client, coop, umkm, bps=1000)
    await make_agreement(client, w.other_coop, w.other_umkm, bps=1000)
    intake = await post_intake(
        client,
        coop,
        intake_body(
            (await client.get("/v1/consignment/agreements", headers=coop.headers)).json()["items"][
                0
            ]["id"],
            w.rice.id,
            quantity=10,
            unit_price=50_000,
        ),
    )
    assert intake.status_code == 201, intake.text
    await order_and_deliver(client, w, 2, 2)  # 100,000 gross, 10,000 commission
    await run_outbox(session_factory, "order.leg.delivered")
    consignor = str(umkm.organization_id)

    key = uuid.uuid4().hex
    plus = await adjust(client, finance, key, consignor_id=consignor, amount=25_000, reason="x1")
    assert plus.status_code == 201, plus.text
    assert plus.json()["statement_id"] is None
    replay = await adjust(client, finance, key, consignor_id=consignor, amount=25_000, reason="x1")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == plus.json()
    minus = await adjust(
        client, finance, consignor_id=consignor, amount=-10_000, reason="refund on a sack"
    )
    assert minus.status_code == 201, minus.text

    # Bad input and other organizations' ids change nothing.
    bad: list[tuple[Actor, dict[str, Any], int]] = [
        (finance, {"consignor_id": consignor, "amount": 0, "reason": "zero"}, 422),
        (finance, {"consignor_id": consignor, "amount": 5}, 400),
        (finance, {"consignor_id": consignor, "amount": 5, "reason": "   "}, 400),
        (finance, {"consignor_id": consignor, "amount": 5, "reason": "x", "extra": 1}, 400),
        (finance, {"consignor_id": consignor, "amount": 10**11, "reason": "x"}, 400),
        (finance, {"consignor_id": "not-a-uuid", "amount": 5, "reason": "x"}, 400),
        (finance, {"consignor_id": consignor, "amount": "5", "reason": "x"}, 400),
        # Our cooperative, a UMKM it has no agreement with; another cooperative, our UMKM.
        (finance, {"consignor_id": str(w.other_umkm.organization_id), "amount": 5,
                   "reason": "x"}, 404),
        (await client_key(w, "other_coop", "finance"), {"consignor_id": consignor, "amount": 5,
                                                         "reason": "x"}, 404),
        # The consignor itself, and the cooperative's seller: not its finance.
        (umkm, {"consignor_id": consignor, "amount": 5, "reason": "x"}, 403),
        (w.coop_seller, {"consignor_id": consignor, "amount": 5, "reason": "x"}, 403),
    ]  # fmt: skip
    for actor, body, status in bad:
        assert_problem(await adjust(client, actor, **body), status)
    assert_problem(
        await client.post(
            "/v1/consignment/adjustments",
            json={"consignor_id": consignor, "amount": 5, "reason": "x"},
            headers=finance.headers,
        ),
        400,
    )  # no Idempotency-Key
    assert_problem(
        await client.post(
            "/v1/consignment/adjustments", json={"consignor_id": consignor, "amount": 5}
        ),
        401,
    )
    assert (
        await count(
            session_factory,
            "SELECT count(*) FROM consignment_adjustments WHERE consignor_id = :c",
            c=umkm.organization_id,
        )
        == 2
    )

    # Listed newest first with keyset pages; the consignor sees its own, others nothing.
    first = await client.get("/v1/consignment/adjustments?limit=1", headers=finance.headers)
    assert [a["id"] for a in first.json()["items"]] == [minus.json()["id"]]
    second = await client.get(
        f"/v1/consignment/adjustments?limit=1&cursor={first.json()['next_cursor']}",
        headers=finance.headers,
    )
    assert [a["id"] for a in second.json()["items"]] == [plus.json()["id"]]
    assert second.json()["next_cursor"] is None
    mine = await client.get(
        f"/v1/consignment/adjustments?consignor_id={consignor}", headers=umkm.headers
    )
    assert {a["amount"] for a in mine.json()["items"]} == {25_000, -10_000}
    other = await client.get("/v1/consignment/adjustments", headers=w.other_umkm.headers)
    assert other.json()["items"] == []
    assert_problem(
        await client.get("/v1/consignment/adjustments?cursor=garbage", headers=finance.headers),
        400,
    )
    # Posted to the ledger at once: the consignor is owed its net sales + 15,000.
    payable_sql = (
        "SELECT COALESCE(sum(amount), 0) FROM ledger_entries WHERE organization_id = :c "
        "AND purpose = 'consignor_payable'"
    )
    assert await count(session_factory, payable_sql, c=umkm.organization_id) == -(90_000 + 15_000)

    async def settle() -> list[dict[str, Any]]:
        run = await client.post(
            "/v1/consignment/settlement-runs",
            json={"cutoff": dt.datetime.now(dt.UTC).isoformat()},
            headers={**finance.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert run.status_code == 201, run.text
        statements: list[dict[str, Any]] = run.json()["statements"]
        return statements

    [statement] = await settle()
    assert statement["adjustments_total"] == 15_000
    assert statement["payout_due"] == 90_000 + 15_000
    detail = (
        await client.get(f"/v1/consignment/statements/{statement['id']}", headers=umkm.headers)
    ).json()
    assert sorted(a["amount"] for a in detail["adjustments"]) == [-10_000, 25_000]
    assert {a["statement_id"] for a in detail["adjustments"]} == {statement["id"]}
    got = await client.get(f"/v1/consignment/adjustments/{plus.json()['id']}", headers=umkm.headers)
    assert got.json()["statement_id"] == statement["id"]
    # Settled once: the next run has nothing to settle.
    assert await settle() == []

    # A debt larger than what is due is carried, not paid.
    assert (
        await adjust(client, finance, consignor_id=consignor, amount=-300_000, reason="loss")
    ).status_code == 201
    [debt] = await settle()
    assert (debt["adjustments_total"], debt["payout_due"]) == (-300_000, 0)
    assert (debt["opening_balance"], debt["closing_balance"]) == (0, -300_000)
    assert debt["payout_id"] is None


async def client_key(w: ConsignmentWorld, org: str, role: str) -> Actor:
    actors: Actors = w.actors
    return await actors.key_for(w[org], role)


@pytest.mark.parametrize("registered", [True, False], ids=["vat-registered", "not-registered"])
async def test_a_consignment_sale_posts_the_vat_its_leg_charged(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    registered: bool,
) -> None:
    """The sale's VAT is the buyer's leg VAT on what was delivered: VAT when the consignor
    is VAT-registered (taxable goods), none when it is not."""
    consigned = await consigned_oil(client, actors, consignor_vat_registered=registered)
    coop = consigned.coop
    w = SaleParties(
        rice=consigned.oil,
        coop_seller=consigned.coop_seller,
        umkm=consigned.umkm,
        kitchen=consigned.kitchen,
    )
    leg = await order_and_deliver(client, w, 5, 4)  # 4 of 5 arrive
    await run_outbox(session_factory, "order.leg.delivered")
    async with session_factory() as session:
        sale_vat = (
            await session.execute(
                text("SELECT vat_amount FROM consignment_sales WHERE leg_id = :l"),
                {"l": uuid.UUID(leg["id"])},
            )
        ).scalar_one()
        posted_vat = (
            await session.execute(
                text(
                    "SELECT COALESCE(sum(e.amount), 0) FROM ledger_entries e "
                    "JOIN ledger_transactions t ON t.id = e.transaction_id "
                    "WHERE t.kind = 'consignment_sale' AND e.purpose = 'vat_payable' "
                    "AND e.organization_id = :coop"
                ),
                {"coop": coop.organization_id},
            )
        ).scalar_one()
    # 11% effective on the 4 delivered: 80,000 x 11/12 x 12% = 8,800.
    expected = 8_800 if registered else 0
    assert (sale_vat, -posted_vat) == (expected, expected)
    # The leg charged the buyer the same VAT per unit (5 ordered: 10,000 x 11% x 5).
    assert leg["vat_amount"] == (11_000 if registered else 0)
