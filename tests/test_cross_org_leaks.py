"""Every operation that takes an object id, called by another organization in every role,
answers 404 — it never reveals that the object exists — and 401 without a key.

Driven by the OpenAPI contract: an operation added without an entry here fails the test,
so new endpoints can't skip the check.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.db import unit_of_work
from tests.builders import orders
from tests.builders.procurement import contract_body, new_contract
from tests.catalog import create_listing, create_product
from tests.support import Actor, Actors, assert_problem

CONTRACT = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
ROLES = ["admin", "buyer", "seller", "finance", "procurement", "viewer"]
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()

# Operations on objects that are public by design, with the reason.
PUBLIC = {
    "getProduct": "the catalogue is shared by every organization",
    "updateProduct": "catalogue curation is platform-only (403), not an organization's object",
}

# A valid body for each operation that takes one, so the 404 can't hide behind a 400.
BODIES: dict[str, dict[str, Any]] = {
    "updateOrganization": {"name": "Renamed"},
    "createApiKey": {"role": "viewer"},
    "invitePerson": {"phone": "0812 3456 7890", "role": "viewer"},
    "updateListing": {"status": "active"},
    "recordStockMovement": {"kind": "receive", "quantity": 1},
    "deliverLeg": {"received_quantity": 1},
    "createBudgetPeriod": {
        "start_date": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
        "portions_per_day": 100,
        "rupiah_per_portion": 8000,
    },
    "updateWebhookEndpoint": {"description": "changed"},
    "updateStandingOrder": {"active": False},
    "receiveBulogLot": {"received_quantity": 1},
    "declareTradeShortfall": {"quantity": 1},
    "recordTradeShipment": {"allotment_id": str(uuid.uuid4()), "quantity": 1},
}
NO_BODY = {
    "revokeApiKey",
    "getBudgetPeriod",
    "getBudgetReport",
    "getTwoWeeklyReport",
    "getTwoWeeklyReportPdf",
    "getTwoWeeklyReportCsv",
    "shipLeg",
    "getListing",
    "listStockMovements",
    "getOrder",
    "cancelOrder",
    "getOrganization",
    "listApiKeys",
    "getStandingOrder",
    "deleteStandingOrder",
    "listBudgetPeriods",
    "redeliverWebhook",
    "deleteWebhookEndpoint",
    "getWebhookEndpoint",
    "listWebhookDeliveries",
    "getBulogLot",
    "submitBulogLot",
    "getTradeContract",
}


# Operations whose every-role 404 check lives beside their own, richer fixtures. The
# coverage test below checks that the named test exists and names the operation's path.
COVERED_BY: dict[str, str] = {
    **dict.fromkeys(
        [
            "getConsignmentAgreement", "updateConsignmentAgreement", "endConsignmentAgreement",
            "getConsignmentIntake", "confirmConsignmentIntake", "rejectConsignmentIntake",
            "getConsignmentStatement", "getConsignmentPayout", "markConsignmentPayoutPaid",
            "getConsignmentAdjustment",
        ],
        "tests/api/test_consignment.py::test_other_organizations_get_404_on_every_consignment_object",
    ),
    **dict.fromkeys(
        ["createPayment", "listOrderPayments", "getPayment", "confirmPayment", "confirmRefund"],
        "tests/api/test_payments.py::test_other_organizations_get_404_in_every_role",
    ),
    **dict.fromkeys(
        [
            "getRfq", "listQuotes", "submitQuote", "awardRfq", "getPurchaseOrder",
            "declinePurchaseOrder", "recordGoodsReceipt", "issueInvoice", "getInvoice",
            "recordTreasuryPayment",
        ],
        "tests/api/test_sourcing.py::test_strangers_get_404_in_every_role_and_401_without_a_key",
    ),
    **dict.fromkeys(
        ["getDeliveryNoteDocument", "getGoodsReceiptDocument", "getOrderInvoiceDocument"],
        "tests/api/test_documents.py::"
        "test_another_organization_gets_404_and_no_key_401_on_every_document",
    ),
    **dict.fromkeys(
        ["grantOversight", "getOversight", "updateOversight", "withdrawOversight"],
        "tests/api/test_reports.py::test_only_the_platform_grants_and_changes_oversight",
    ),
    "recordCooperativeMembers":
        "tests/api/test_report_members.py::test_only_the_cooperative_records_its_members",
    "getPurchaseOrderInvoiceDocument":
        "tests/api/test_documents_more.py::test_a_purchase_order_invoice_shows_ppn_and_pph22",
    "getConsignmentStatementDocument": "tests/api/test_documents_more.py::"
        "test_a_consignment_statement_prints_what_sold_and_what_is_paid",
}  # fmt: skip


def object_operations() -> list[tuple[str, str, str]]:
    contract = json.loads(CONTRACT.read_text())
    found = []
    for path, item in contract["paths"].items():
        for method, operation in item.items():
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                found.append((method, path, operation["operationId"]))
    return sorted(found)


async def own_objects(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> dict[str, str]:
    """One object of every kind, owned by organization A (a cooperative and a kitchen)."""
    admin = await actors.platform_admin()
    coop = await actors.org("cooperative", "admin", region_code="35.76.02.1005")
    kitchen = await actors.org("kitchen", "admin", region_code="35.76.02.1005")
    product = await create_product(client, admin, price_caps=[], bulog_supplied=False)
    await create_listing(client, coop, product["id"], tiers=[(1, 60_000)], stock=20)
    paused = await create_listing(
        client, coop, (await create_product(client, admin, price_caps=[]))["id"], status="paused"
    )
    order = await orders.place_order(
        client,
        kitchen,
        orders.order_body([(product["id"], 2)], date=TOMORROW, address="Dapur"),
    )
    assert order.status_code == 201, order.text
    period = await client.post(
        f"/v1/kitchens/{kitchen.organization_id}/budget-periods",
        json={"start_date": dt.date.today().isoformat(), "portions_per_day": 500,
              "rupiah_per_portion": 10000},
        headers=kitchen.headers,
    )  # fmt: skip
    assert period.status_code == 201, period.text
    standing = await client.post(
        "/v1/standing-orders",
        json={
            "name": "Senin",
            "weekdays": {"1": [{"product_id": product["id"], "quantity": 1}]},
            "delivery": {"region_code": "35.76.02.1005", "address": "Dapur"},
        },
        headers=kitchen.headers,
    )
    assert standing.status_code == 201, standing.text
    endpoint = await client.post(
        "/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["order.placed"]},
        headers=coop.headers,
    )
    assert endpoint.status_code == 201, endpoint.text
    delivery_id = await make_delivery(session_factory, coop)
    procurement_ids = await procurement_objects(client, actors, admin, coop)
    keys = (
        await client.get(f"/v1/organizations/{coop.organization_id}/api-keys", headers=coop.headers)
    ).json()["items"]
    return {
        "organization_id": str(coop.organization_id),
        "key_id": keys[0]["id"],
        "listing_id": paused["id"],
        "order_id": order.json()["id"],
        "leg_id": order.json()["legs"][0]["id"],
        "kitchen_id": str(kitchen.organization_id),
        "period_id": period.json()["id"],
        "standing_id": standing.json()["id"],
        "endpoint_id": endpoint.json()["id"],
        "delivery_id": delivery_id,
        **procurement_ids,
    }


async def procurement_objects(
    client: AsyncTestClient[Litestar], actors: Actors, admin: Actor, coop: Actor
) -> dict[str, str]:
    """A Bulog lot of `coop`, and a trade contract it supplies."""
    await actors.org("bulog", "seller", region_code="35.78.01.1001")
    rice = await create_product(client, admin, price_caps=[])
    await create_listing(client, coop, rice["id"], tiers=[(1, 62_000)], stock=0,
                         supply_mode="bulog_lot")  # fmt: skip
    buyer = await actors.org("kitchen", "buyer", region_code="35.76.02.1005")
    placed = await orders.place_order(
        client,
        buyer,
        orders.order_body([(rice["id"], 3)], date=TOMORROW, address="Dapur"),
    )
    assert placed.status_code == 201, placed.text
    lots = (await client.get("/v1/procurement/bulog-lots", headers=coop.headers)).json()["items"]
    trade_center = await actors.org("trade_center", "admin", region_code="35.72.01.1001")
    depok = await actors.org("government", "admin", region_code="32.76.01.1001")
    contract = await new_contract(
        client,
        trade_center,
        contract_body(
            rice["id"], depok, [(coop, 10)], start_date=dt.date.today(), end_date=TOMORROW,
            weekly_volume=10, unit_price=60_000, levy_bps=100,
        ),
    )  # fmt: skip
    return {
        "lot_id": lots[0]["id"],
        "contract_id": contract.id,
        "allotment_id": contract.allotments[0].id,
    }


async def make_delivery(factory: async_sessionmaker[AsyncSession], owner: Actor) -> str:
    from marketplace.webhooks.tasks import register_fan_out
    from tests.builders.events import example

    handlers = outbox.EventHandlers()
    register_fan_out(handlers)
    async with unit_of_work(factory) as uow:
        event_id = outbox.emit(uow, example("order.placed"), organization_id=owner.organization_id)
        await uow.commit()
    async with unit_of_work(factory) as uow:
        assert await outbox.handle_event(uow, event_id, handlers)
    from sqlalchemy import select

    from marketplace.webhooks.models import WebhookDelivery

    async with factory() as session:
        delivery_id = await session.scalar(
            select(WebhookDelivery.id).where(WebhookDelivery.event_id == event_id)
        )
    assert delivery_id is not None
    return str(delivery_id)


def test_every_object_operation_is_covered() -> None:
    uncovered = [
        (m, p, op)
        for m, p, op in object_operations()
        if op not in PUBLIC and op not in BODIES and op not in NO_BODY and op not in COVERED_BY
    ]
    assert uncovered == [], "add these operations to the cross-organization matrix"
    root = CONTRACT.parent.parent
    for method, path, operation_id in object_operations():
        if operation_id not in COVERED_BY:
            continue
        file, test = COVERED_BY[operation_id].split("::")
        source = (root / file).read_text()
        assert f"def {test}(" in source, COVERED_BY[operation_id]
        body = source[source.index(f"def {test}(") :]
        stem = path.split("{")[0].rstrip("/").rsplit("/", 1)[-1]
        assert stem in body or operation_id in body, (operation_id, method, path)


@pytest.mark.slow
async def test_other_organizations_get_404_in_every_role(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ids = await own_objects(client, actors, session_factory)
    strangers: list[Actor] = []
    for kind in ("cooperative", "kitchen", "umkm"):
        base = await actors.org(kind, "admin")
        strangers += [await actors.key_for(base, role) for role in ROLES]
    leaks = []
    for method, path, operation_id in object_operations():
        if operation_id in PUBLIC or operation_id in COVERED_BY:
            continue
        url = path.format(**ids)
        kwargs: dict[str, Any] = {}
        if operation_id in BODIES:
            kwargs["json"] = BODIES[operation_id]
        for stranger in strangers:
            response = await client.request(method.upper(), url, headers=stranger.headers, **kwargs)
            if response.status_code != 404:
                leaks.append((operation_id, stranger.kind.value, stranger.role.value,
                              response.status_code))  # fmt: skip
        assert_problem(await client.request(method.upper(), url, **kwargs), 401)
    assert leaks == []
