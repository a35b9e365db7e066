# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_server are parameters here)
"""Payments through the API against a real Stripe-compatible server (localstripe).

Card payments, declines, bank transfer and treasury payments confirmed by finance,
refunds when a paid order is cancelled, the Stripe webhook inbox (signatures, duplicates,
any arrival order), authorization, bad input and concurrency.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.db import unit_of_work
from marketplace.ledger import LedgerService
from marketplace.payments import tasks
from marketplace.settings import Settings
from tests.builders import orders
from tests.builders.catalog import Listing, Product, new_listing, new_product
from tests.builders.legacy import LegacyKeys
from tests.builders.payments import confirm_payment, pay
from tests.stripe_server import (  # noqa: F401  (fixtures)
    STRIPE_TEST_KEY,
    WEBHOOK_SECRET,
    StripeServer,
    sign,
    stripe_app,
    stripe_client,
    stripe_event,
    stripe_server,
    stripe_settings,
)
from tests.support import Actor, Actors, assert_problem

Client = AsyncTestClient[Litestar]
Factory = async_sessionmaker[AsyncSession]
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
UNIT_PRICE = 50_000
WEBHOOK = "/v1/payments/stripe/webhook"


# --- fixtures and helpers -----------------------------------------------------------


@dataclass(frozen=True)
class PaymentsWorld(LegacyKeys):
    """A cooperative selling rice at UNIT_PRICE, two kitchens and a government office."""

    admin: Actor
    platform_finance: Actor
    rice: Product
    listing: Listing
    seller: Actor
    seller_finance: Actor
    kitchen: Actor
    other: Actor
    government: Actor


@pytest.fixture
async def world(stripe_client: Client, session_factory: Factory) -> PaymentsWorld:
    actors = Actors(stripe_client, session_factory)
    admin = await actors.platform_admin()
    rice = await new_product(stripe_client, admin, price_caps=[])
    seller = await actors.org("cooperative", "seller", region_code="35.76.02.1005")
    listing = await new_listing(stripe_client, seller, rice, tiers=[(1, UNIT_PRICE)], stock=100_000)
    return PaymentsWorld(
        admin=admin,
        platform_finance=await actors.key_for(admin, "finance"),
        rice=rice,
        listing=listing,
        seller=seller,
        seller_finance=await actors.key_for(seller, "finance"),
        kitchen=await actors.org("kitchen", "buyer", region_code="35.76.02.1005"),
        other=await actors.org("kitchen", "buyer", region_code="35.76.02.1005"),
        government=await actors.org("government", "buyer", region_code="35.76.02.1005"),
    )


@pytest.fixture
def ctx(session_factory: Factory, stripe_settings: Settings) -> dict[str, Any]:
    """A job's context as the worker builds it (no queue: jobs are called directly)."""
    return {"session_factory": session_factory, "jobs": None, "settings": stripe_settings}


@pytest.fixture(autouse=True)
def clean_stripe(stripe_server: StripeServer) -> None:
    stripe_server.reset()


async def new_order(
    client: Client, world: PaymentsWorld | Product, buyer: Actor, quantity: int = 2
) -> Any:
    """An order of `quantity` of the world's rice (or of the product given)."""
    product = world if isinstance(world, Product) else world.rice
    body = orders.order_body([(product, quantity)], date=TOMORROW, address="Jl. Mawar 3")
    response = await orders.place_order(client, buyer, body)
    assert response.status_code == 201, response.text
    return response.json()


async def paid_by_card(client: Client, world: PaymentsWorld, pm: str = "pm_card_visa") -> Any:
    order = await new_order(client, world, world.kitchen)
    response = await pay(
        client, world.kitchen, order["id"], {"method": "card", "payment_method": pm}
    )
    assert response.status_code == 201, response.text
    return order, response.json()


def three_d_secure_card(server: StripeServer) -> str:
    """A card that needs the buyer's authentication: the intent stops at requires_action."""
    response = httpx.post(
        f"{server.url}/v1/payment_methods",
        data={
            "type": "card",
            "card[number]": "4000002760003184",
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
        },
        headers={"Authorization": f"Bearer {STRIPE_TEST_KEY}"},
    )
    assert response.status_code == 200, response.text
    pm_id: str = response.json()["id"]
    return pm_id


async def get_payment(client: Client, who: Actor, payment_id: str) -> Any:
    response = await client.get(f"/v1/payments/{payment_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def postings(factory: Factory, reference: str) -> int:
    async with unit_of_work(factory) as uow:
        return len(await LedgerService(uow).transactions(reference=reference, limit=10))


async def scalar(factory: Factory, sql: str, **params: Any) -> Any:
    async with factory() as session:
        return (await session.execute(text(sql), params)).scalar_one()


async def events_of(factory: Factory, topic: str, payment_id: str) -> int:
    return int(
        await scalar(
            factory,
            "SELECT count(*) FROM outbox_events WHERE topic = :t AND payload->>'payment_id' = :p",
            t=topic,
            p=payment_id,
        )
    )


async def inbox_size(factory: Factory) -> int:
    return int(await scalar(factory, "SELECT count(*) FROM stripe_events"))


async def payment_count(factory: Factory) -> int:
    return int(await scalar(factory, "SELECT count(*) FROM payments"))


async def handle_order_events(factory: Factory, topic: str, order_id: str) -> int:
    """Run the worker's outbox handlers for the order's unhandled `topic` events."""
    from marketplace.worker import event_handlers

    async with factory() as session:
        ids = list(
            (
                await session.execute(
                    text(
                        "SELECT id FROM outbox_events WHERE topic = :t "
                        "AND payload->>'order_id' = :o AND handled_at IS NULL ORDER BY id"
                    ),
                    {"t": topic, "o": order_id},
                )
            ).scalars()
        )
    for event_id in ids:
        async with unit_of_work(factory) as uow:
            assert await outbox.handle_event(uow, event_id, event_handlers())
    return len(ids)


async def cancel(client: Client, buyer: Actor, order_id: str) -> None:
    response = await client.post(f"/v1/orders/{order_id}/cancel", headers=buyer.headers)
    assert response.status_code == 200, response.text


async def deliver_webhook(client: Client, payload: bytes, signature: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = sign(payload) if signature is None else signature
    return await client.post(WEBHOOK, content=payload, headers=headers)


def intent(payment: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "id": payment["provider_payment_id"],
        "object": "payment_intent",
        "amount": payment["amount"] * 100,
        "currency": "idr",
        "status": status,
        "metadata": {"payment_id": payment["id"], "order_id": payment["order_id"]},
    }


def refunded_charge(payment: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"ch_{uuid.uuid4().hex[:14]}",
        "object": "charge",
        "payment_intent": payment["provider_payment_id"],
        "amount": payment["amount"] * 100,
        "amount_refunded": payment["amount"] * 100,
        "refunded": True,
        "refunds": {"data": [{"id": f"re_{uuid.uuid4().hex[:14]}", "status": "succeeded"}]},
    }


# --- card payments ------------------------------------------------------------------


async def test_card_payment_succeeds_at_stripe_and_is_posted_once(
    stripe_client: Client,
    world: PaymentsWorld,
    stripe_server: StripeServer,
    session_factory: Factory,
) -> None:
    order, payment = await paid_by_card(stripe_client, world)
    assert payment["status"] == "succeeded"
    assert payment["method"] == "card"
    assert payment["amount"] == order["total"] == 2 * UNIT_PRICE
    assert payment["currency"] == "IDR"
    assert payment["provider_payment_id"].startswith("pi_")
    assert payment["client_secret"]
    # What Stripe holds: IDR in hundredths, our ids in the metadata.
    at_stripe = stripe_server.get(f"/v1/payment_intents/{payment['provider_payment_id']}")
    assert at_stripe["amount"] == order["total"] * 100
    assert at_stripe["currency"] == "idr"
    assert at_stripe["status"] == "succeeded"
    assert at_stripe["metadata"]["payment_id"] == payment["id"]
    assert await postings(session_factory, f"payment_received:{payment['id']}") == 1
    # The buyer and the supplier are told.
    assert await events_of(session_factory, "payment.succeeded", payment["id"]) == 2
    # The supplier sees the payment but not the client secret.
    seen = await get_payment(stripe_client, world.seller_finance, payment["id"])
    assert seen["status"] == "succeeded"
    assert seen["client_secret"] is None
    listed = await stripe_client.get(
        f"/v1/orders/{order['id']}/payments", headers=world.kitchen.headers
    )
    assert listed.status_code == 200, listed.text
    assert [p["id"] for p in listed.json()["items"]] == [payment["id"]]
    # Paid orders can't be paid again.
    again = await pay(
        stripe_client,
        world.kitchen,
        order["id"],
        {"method": "card", "payment_method": "pm_card_visa"},
    )
    assert_problem(again, 409, "payments.already_open")


async def test_a_declined_card_is_a_failed_payment_and_the_order_can_be_paid_again(
    stripe_client: Client, world: PaymentsWorld, session_factory: Factory
) -> None:
    order = await new_order(stripe_client, world, world.kitchen)
    declined = await pay(
        stripe_client,
        world.kitchen,
        order["id"],
        {"method": "card", "payment_method": "pm_card_chargeCustomerFail"},
    )
    assert declined.status_code == 201, declined.text
    failed = declined.json()
    assert failed["status"] == "failed"
    assert failed["failure_code"] == "card_declined"
    assert failed["failure_message"]
    assert await postings(session_factory, f"payment_received:{failed['id']}") == 0
    assert await events_of(session_factory, "payment.failed", failed["id"]) == 2
    retry = await pay(
        stripe_client,
        world.kitchen,
        order["id"],
        {"method": "card", "payment_method": "pm_card_visa"},
    )
    assert retry.status_code == 201, retry.text
    assert retry.json()["status"] == "succeeded"


async def test_a_card_needing_authentication_returns_its_client_secret(
    stripe_client: Client, world: PaymentsWorld, stripe_server: StripeServer
) -> None:
    _, payment = await paid_by_card(stripe_client, world, three_d_secure_card(stripe_server))
    assert payment["status"] == "requires_action"
    assert payment["client_secret"].startswith(payment["provider_payment_id"])


async def test_without_stripe_cards_are_unavailable_but_bank_transfer_works(
    client: Client, actors: Actors
) -> None:
    admin = await actors.platform_admin()
    rice = await new_product(client, admin, price_caps=[])
    seller = await actors.org("cooperative", "seller", region_code="35.76.02.1005")
    await new_listing(client, seller, rice, tiers=[(1, UNIT_PRICE)], stock=10)
    kitchen = await actors.org("kitchen", "buyer", region_code="35.76.02.1005")
    order = await new_order(client, rice, kitchen)
    card = await pay(client, kitchen, order["id"], {"method": "card", "payment_method": "pm_x"})
    body = assert_problem(card, 422, "payments.card_unavailable")
    assert "STRIPE_API_KEY" in body["detail"]
    listed = await client.get(f"/v1/orders/{order['id']}/payments", headers=kitchen.headers)
    assert listed.json()["items"] == []
    bank = await pay(client, kitchen, order["id"], {"method": "bank_transfer"})
    assert bank.status_code == 201, bank.text
    assert bank.json()["status"] == "pending"


# --- bank transfer and treasury ------------------------------------------------------


async def test_bank_transfer_gives_instructions_and_supplier_finance_confirms_it(
    stripe_client: Client, world: PaymentsWorld, session_factory: Factory
) -> None:
    order = await new_order(stripe_client, world, world.kitchen, quantity=3)
    response = await pay(stripe_client, world.kitchen, order["id"], {"method": "bank_transfer"})
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "pending"
    instructions = payment["instructions"]
    assert instructions["amount"] == 3 * UNIT_PRICE
    assert instructions["currency"] == "IDR"
    assert len(instructions["virtual_account"]) == 16
    assert instructions["virtual_account"].isdigit()
    expires = dt.datetime.fromisoformat(instructions["expires_at"])
    assert expires > dt.datetime.now(dt.UTC) + dt.timedelta(days=2)

    url = f"/v1/payments/{payment['id']}/confirm"
    body = {"reference": "BCA-20261122-0001"}
    # The buyer can't confirm its own payment; a seller key isn't finance; others don't see it.
    buyer = await stripe_client.post(url, json=body, headers=world.kitchen.headers)
    assert_problem(buyer, 403)
    seller = await stripe_client.post(url, json=body, headers=world.seller.headers)
    assert_problem(seller, 403)
    other = await stripe_client.post(url, json=body, headers=world.other.headers)
    assert_problem(other, 404)
    assert await postings(session_factory, f"payment_received:{payment['id']}") == 0

    confirmed = await stripe_client.post(url, json=body, headers=world.seller_finance.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    assert confirmed.json()["confirmation_reference"] == body["reference"]
    again = await stripe_client.post(url, json=body, headers=world.seller_finance.headers)
    assert again.status_code == 200, again.text
    different = await stripe_client.post(
        url, json={"reference": "BCA-OTHER"}, headers=world.seller_finance.headers
    )
    assert_problem(different, 409, "payments.reference_mismatch")
    assert await postings(session_factory, f"payment_received:{payment['id']}") == 1
    assert await events_of(session_factory, "payment.succeeded", payment["id"]) == 2


async def test_treasury_is_for_government_buyers_and_settles_later(
    stripe_client: Client, world: PaymentsWorld, session_factory: Factory
) -> None:
    kitchen_order = await new_order(stripe_client, world, world.kitchen)
    refused = await pay(stripe_client, world.kitchen, kitchen_order["id"], {"method": "treasury"})
    assert_problem(refused, 403, "payments.treasury_not_allowed")

    order = await new_order(stripe_client, world, world.government)
    response = await pay(stripe_client, world.government, order["id"], {"method": "treasury"})
    assert response.status_code == 201, response.text
    payment = response.json()
    assert (payment["status"], payment["instructions"]) == ("pending", None)
    confirmed = await confirm_payment(
        stripe_client, world.platform_finance, payment["id"], "SP2D-00123/2026"
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    assert await postings(session_factory, f"payment_received:{payment['id']}") == 1


# --- refunds when a paid order is cancelled -----------------------------------------


async def test_cancelling_a_card_paid_order_refunds_it_at_stripe_once(
    stripe_client: Client,
    world: PaymentsWorld,
    stripe_server: StripeServer,
    session_factory: Factory,
    ctx: dict[str, Any],
) -> None:
    order, payment = await paid_by_card(stripe_client, world)
    await cancel(stripe_client, world.kitchen, order["id"])
    # One order.cancelled event per party (buyer, supplier): the refund is granted once.
    assert await handle_order_events(session_factory, "order.cancelled", order["id"]) == 2
    granted = await get_payment(stripe_client, world.kitchen, payment["id"])
    assert granted["status"] == "succeeded"
    [refund] = granted["refunds"]
    assert (refund["channel"], refund["status"], refund["amount"]) == (
        "stripe",
        "pending",
        payment["amount"],
    )
    assert await postings(session_factory, f"refund:{refund['id']}") == 1

    assert await tasks.submit_refund(ctx, refund["id"]) == "succeeded"
    assert await tasks.submit_refund(ctx, refund["id"]) == "already_submitted"

    done = await get_payment(stripe_client, world.kitchen, payment["id"])
    assert done["status"] == "refunded"
    assert done["refunded_amount"] == payment["amount"]
    assert done["refunds"][0]["status"] == "succeeded"
    provider_refund = done["refunds"][0]["provider_refund_id"]
    at_stripe = stripe_server.get(f"/v1/refunds/{provider_refund}")
    assert at_stripe["amount"] == payment["amount"] * 100
    assert at_stripe["metadata"]["refund_id"] == refund["id"]
    assert at_stripe["status"] == "succeeded"
    assert await postings(session_factory, f"refund_paid:{refund['id']}") == 1
    assert await events_of(session_factory, "payment.refunded", payment["id"]) == 2


async def test_cancelling_a_bank_paid_order_records_a_refund_finance_pays(
    stripe_client: Client, world: PaymentsWorld, session_factory: Factory
) -> None:
    order = await new_order(stripe_client, world, world.kitchen)
    payment = (
        await pay(stripe_client, world.kitchen, order["id"], {"method": "bank_transfer"})
    ).json()
    confirm = await confirm_payment(
        stripe_client, world.seller_finance, payment["id"], "MANDIRI-778"
    )
    assert confirm.status_code == 200, confirm.text
    await cancel(stripe_client, world.kitchen, order["id"])
    await handle_order_events(session_factory, "order.cancelled", order["id"])
    [refund] = (await get_payment(stripe_client, world.kitchen, payment["id"]))["refunds"]
    assert (refund["channel"], refund["status"]) == ("bank", "pending")

    url = f"/v1/refunds/{refund['id']}/confirm"
    by_other = await stripe_client.post(
        url, json={"reference": "TRF-1"}, headers=world.other.headers
    )
    assert_problem(by_other, 404)
    paid = await stripe_client.post(
        url, json={"reference": "TRF-1"}, headers=world.seller_finance.headers
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "refunded"
    assert paid.json()["refunds"][0]["status"] == "succeeded"
    assert await postings(session_factory, f"refund_paid:{refund['id']}") == 1


async def test_cancelling_an_unpaid_order_voids_its_bank_transfer(
    stripe_client: Client, world: PaymentsWorld, session_factory: Factory
) -> None:
    order = await new_order(stripe_client, world, world.kitchen)
    payment = (
        await pay(stripe_client, world.kitchen, order["id"], {"method": "bank_transfer"})
    ).json()
    await cancel(stripe_client, world.kitchen, order["id"])
    await handle_order_events(session_factory, "order.cancelled", order["id"])
    voided = await get_payment(stripe_client, world.kitchen, payment["id"])
    assert (voided["status"], voided["refunds"]) == ("cancelled", [])
    again = await pay(stripe_client, world.kitchen, order["id"], {"method": "bank_transfer"})
    assert_problem(again, 409, "payments.order_not_payable")


# --- Stripe webhooks ----------------------------------------------------------------


async def test_webhook_signature_failures_are_400_and_store_nothing(
    stripe_client: Client, world: PaymentsWorld, session_factory: Factory
) -> None:
    _, payment = await paid_by_card(stripe_client, world)
    payload = stripe_event("evt_badsig", "payment_intent.succeeded", intent(payment, "succeeded"))
    now = int(time.time())
    before = await inbox_size(session_factory)
    for signature in [
        sign(payload, secret="whsec_someone_else"),
        sign(payload, timestamp=now - 3600),  # replayed an hour later
        sign(payload, timestamp=now + 3600),  # from the future
        sign(payload + b" "),  # body changed after signing
        "",
        "t=notanumber,v1=abc",
        f"t={now}",
    ]:
        response = await deliver_webhook(stripe_client, payload, signature)
        assert_problem(response, 400, "payments.invalid_signature")
    missing = await stripe_client.post(
        WEBHOOK, content=payload, headers={"Content-Type": "application/json"}
    )
    assert_problem(missing, 400, "payments.invalid_signature")
    assert await inbox_size(session_factory) == before
    # Signed but not an event.
    not_event = b'{"hello": "world"}'
    assert_problem(await deliver_webhook(stripe_client, not_event), 400, "payments.invalid_event")
    assert await inbox_size(session_factory) == before
    # The webhook needs no API key; a good signature is accepted.
    ok = await deliver_webhook(stripe_client, payload)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"received": True, "event_id": "evt_badsig", "duplicate": False}
    assert await inbox_size(session_factory) == before + 1


async def test_the_same_event_delivered_10_times_at_once_is_handled_once(
    stripe_client: Client,
    world: PaymentsWorld,
    stripe_server: StripeServer,
    session_factory: Factory,
    ctx: dict[str, Any],
) -> None:
    _, payment = await paid_by_card(stripe_client, world, three_d_secure_card(stripe_server))
    assert payment["status"] == "requires_action"
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = stripe_event(event_id, "payment_intent.succeeded", intent(payment, "succeeded"))
    before = await inbox_size(session_factory)
    responses = await asyncio.gather(*(deliver_webhook(stripe_client, payload) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 9
    assert await inbox_size(session_factory) == before + 1
    outcomes = await asyncio.gather(*(tasks.handle_stripe_event(ctx, event_id) for _ in range(10)))
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 9
    done = await get_payment(stripe_client, world.kitchen, payment["id"])
    assert done["status"] == "succeeded"
    assert await postings(session_factory, f"payment_received:{payment['id']}") == 1
    assert await events_of(session_factory, "payment.succeeded", payment["id"]) == 2


LIFECYCLE = [
    "payment_intent.created",
    "payment_intent.processing",
    "payment_intent.succeeded",
    "charge.refunded",
]


async def test_a_payment_lifecycle_in_all_24_arrival_orders_ends_the_same(
    stripe_client: Client,
    world: PaymentsWorld,
    stripe_server: StripeServer,
    session_factory: Factory,
    ctx: dict[str, Any],
) -> None:
    finals = set()
    pm = three_d_secure_card(stripe_server)
    for order_of_arrival in itertools.permutations(LIFECYCLE):
        _, payment = await paid_by_card(stripe_client, world, pm)
        assert payment["status"] == "requires_action"
        objects = {
            "payment_intent.created": intent(payment, "requires_payment_method"),
            "payment_intent.processing": intent(payment, "processing"),
            "payment_intent.succeeded": intent(payment, "succeeded"),
            "charge.refunded": refunded_charge(payment),
        }
        for created, event_type in enumerate(LIFECYCLE):
            objects[event_type] = {**objects[event_type], "_created": created}
        for event_type in order_of_arrival:
            event_id = f"evt_{uuid.uuid4().hex}"
            obj = {k: v for k, v in objects[event_type].items() if k != "_created"}
            payload = stripe_event(event_id, event_type, obj)
            response = await deliver_webhook(stripe_client, payload)
            assert response.status_code == 200, response.text
            await tasks.handle_stripe_event(ctx, event_id)
        done = await get_payment(stripe_client, world.kitchen, payment["id"])
        [refund] = done["refunds"]
        pid = payment["id"]
        finals.add(
            (
                done["status"],
                done["refunded_amount"] == payment["amount"],
                refund["status"],
                await postings(session_factory, f"payment_received:{pid}"),
                await postings(session_factory, f"refund:{refund['id']}"),
                await postings(session_factory, f"refund_paid:{refund['id']}"),
                await events_of(session_factory, "payment.succeeded", pid),
                await events_of(session_factory, "payment.refunded", pid),
            )
        )
    assert finals == {("refunded", True, "succeeded", 1, 1, 1, 2, 2)}


# --- authorization and bad input -----------------------------------------------------


async def test_another_organizations_payment_or_order_is_404_and_no_key_is_401(
    stripe_client: Client, world: PaymentsWorld
) -> None:
    order, payment = await paid_by_card(stripe_client, world)
    other = world.other
    assert_problem(
        await stripe_client.get(f"/v1/payments/{payment['id']}", headers=other.headers), 404
    )
    assert_problem(
        await stripe_client.get(f"/v1/orders/{order['id']}/payments", headers=other.headers), 404
    )
    assert_problem(await pay(stripe_client, other, order["id"], {"method": "bank_transfer"}), 404)
    assert_problem(
        await stripe_client.post(
            f"/v1/payments/{payment['id']}/confirm", json={"reference": "X1"}, headers=other.headers
        ),
        404,
    )
    assert_problem(
        await stripe_client.get(f"/v1/payments/{uuid.uuid4()}", headers=other.headers), 404
    )
    for method, url, body in [
        ("GET", f"/v1/payments/{payment['id']}", None),
        ("GET", f"/v1/orders/{order['id']}/payments", None),
        ("POST", f"/v1/orders/{order['id']}/payments", {"method": "bank_transfer"}),
        ("POST", f"/v1/payments/{payment['id']}/confirm", {"reference": "X1"}),
        ("POST", f"/v1/refunds/{uuid.uuid4()}/confirm", {"reference": "X1"}),
    ]:
        response = await stripe_client.request(
            method, url, json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert_problem(response, 401)
    # A supplier sees the order but doesn't pay for it.
    seller_pays = await pay(stripe_client, world.seller, order["id"], {"method": "bank_transfer"})
    assert_problem(seller_pays, 403)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"method": "cash"}, 400, "validation_failed"),
        ({"method": "bank_transfer", "amount": 1}, 400, "validation_failed"),
        ({}, 400, "validation_failed"),
        ({"method": "card"}, 422, "payments.payment_method_required"),
        ({"method": "card", "payment_method": "not a pm"}, 400, "validation_failed"),
        ({"method": "bank_transfer", "payment_method": "pm_card_visa"}, 422, None),
    ],
)
async def test_bad_input_is_a_problem_and_changes_nothing(
    stripe_client: Client,
    world: PaymentsWorld,
    session_factory: Factory,
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    order = await new_order(stripe_client, world, world.kitchen)
    before = await payment_count(session_factory)
    assert_problem(await pay(stripe_client, world.kitchen, order["id"], body), status, code)
    assert await payment_count(session_factory) == before


async def test_missing_idempotency_key_and_unknown_order_are_refused(
    stripe_client: Client, world: PaymentsWorld, session_factory: Factory
) -> None:
    order = await new_order(stripe_client, world, world.kitchen)
    before = await payment_count(session_factory)
    no_key = await stripe_client.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "bank_transfer"},
        headers=world.kitchen.headers,
    )
    assert_problem(no_key, 400, "idempotency.key_invalid")
    unknown = await pay(
        stripe_client, world.kitchen, str(uuid.uuid4()), {"method": "bank_transfer"}
    )
    assert_problem(unknown, 404)
    bad_confirm = await stripe_client.post(
        f"/v1/payments/{uuid.uuid4()}/confirm",
        json={"reference": ""},
        headers=world.seller_finance.headers,
    )
    assert_problem(bad_confirm, 400, "validation_failed")
    assert await payment_count(session_factory) == before


# --- concurrency ----------------------------------------------------------------------


async def test_the_same_idempotency_key_20_times_at_once_makes_one_payment(
    stripe_client: Client,
    world: PaymentsWorld,
    stripe_server: StripeServer,
    session_factory: Factory,
) -> None:
    order = await new_order(stripe_client, world, world.kitchen)
    key = uuid.uuid4().hex
    body = {"method": "card", "payment_method": "pm_card_visa"}
    responses = await asyncio.gather(
        *(pay(stripe_client, world.kitchen, order["id"], body, key=key) for _ in range(20))
    )
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    listed = await stripe_client.get(
        f"/v1/orders/{order['id']}/payments", headers=world.kitchen.headers
    )
    assert len(listed.json()["items"]) == 1
    intents = stripe_server.get("/v1/payment_intents?limit=100")["data"]
    assert sum(i["metadata"].get("order_id") == order["id"] for i in intents) == 1
    assert await postings(session_factory, f"payment_received:{responses[0].json()['id']}") == 1


async def test_different_keys_at_once_still_make_one_open_payment_per_order(
    stripe_client: Client, world: PaymentsWorld
) -> None:
    order = await new_order(stripe_client, world, world.kitchen)
    responses = await asyncio.gather(
        *(
            pay(stripe_client, world.kitchen, order["id"], {"method": "bank_transfer"})
            for _ in range(10)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "payments.already_open")


async def test_events_for_unknown_payments_wait_and_unused_types_are_ignored(
    stripe_client: Client, session_factory: Factory, ctx: dict[str, Any]
) -> None:
    early = f"evt_{uuid.uuid4().hex}"
    obj = {"id": f"pi_{uuid.uuid4().hex[:14]}", "metadata": {"payment_id": str(uuid.uuid4())}}
    payload = stripe_event(early, "payment_intent.succeeded", obj)
    assert (await deliver_webhook(stripe_client, payload)).status_code == 200
    # Perhaps the transaction creating the payment hasn't committed: left for the sweep.
    assert await tasks.handle_stripe_event(ctx, early) == "deferred"
    assert await scalar(
        session_factory, "SELECT handled_at IS NULL FROM stripe_events WHERE event_id = :e", e=early
    )
    unused = f"evt_{uuid.uuid4().hex}"
    payload = stripe_event(unused, "customer.created", {"id": "cus_1"})
    assert (await deliver_webhook(stripe_client, payload)).status_code == 200
    assert await tasks.handle_stripe_event(ctx, unused) == "ignored"
    assert await tasks.handle_stripe_event(ctx, unused) == "duplicate"


async def test_other_organizations_get_404_in_every_role(
    stripe_client: Client, world: PaymentsWorld, session_factory: Factory
) -> None:
    order = await new_order(stripe_client, world, world.kitchen)
    bank = await pay(stripe_client, world.kitchen, order["id"], {"method": "bank_transfer"})
    payment = bank.json()
    confirmed = await confirm_payment(stripe_client, world.seller_finance, payment["id"], "BRI-1")
    assert confirmed.status_code == 200, confirmed.text
    await cancel(stripe_client, world.kitchen, order["id"])
    await handle_order_events(session_factory, "order.cancelled", order["id"])
    [refund] = (await get_payment(stripe_client, world.kitchen, payment["id"]))["refunds"]
    actors = Actors(stripe_client, session_factory)
    base = await actors.org("cooperative", "admin")
    operations = [
        ("POST", f"/v1/orders/{order['id']}/payments", {"method": "bank_transfer"}),
        ("GET", f"/v1/orders/{order['id']}/payments", None),
        ("GET", f"/v1/payments/{payment['id']}", None),
        ("POST", f"/v1/payments/{payment['id']}/confirm", {"reference": "X1"}),
        ("POST", f"/v1/refunds/{refund['id']}/confirm", {"reference": "X1"}),
    ]
    leaks = []
    for role in ["admin", "buyer", "seller", "finance", "procurement", "viewer"]:
        stranger = await actors.key_for(base, role)
        for method, url, body in operations:  # no Idempotency-Key: 404 comes first
            response = await stripe_client.request(method, url, json=body, headers=stranger.headers)
            if response.status_code != 404:
                leaks.append((role, method, url, response.status_code))
    assert leaks == []
    still = await get_payment(stripe_client, world.kitchen, payment["id"])
    assert still["refunds"][0]["status"] == "pending"


async def test_cancelling_an_order_cancels_its_unfinished_card_payment_at_stripe(
    stripe_client: Client,
    world: PaymentsWorld,
    stripe_server: StripeServer,
    session_factory: Factory,
    ctx: dict[str, Any],
) -> None:
    pm = three_d_secure_card(stripe_server)
    order, payment = await paid_by_card(stripe_client, world, pm)
    assert payment["status"] == "requires_action"
    await cancel(stripe_client, world.kitchen, order["id"])
    await handle_order_events(session_factory, "order.cancelled", order["id"])
    assert await tasks.cancel_card(ctx, payment["id"]) == "cancelled"
    assert await tasks.cancel_card(ctx, payment["id"]) == "nothing_to_cancel"
    at_stripe = stripe_server.get(f"/v1/payment_intents/{payment['provider_payment_id']}")
    assert at_stripe["status"] == "canceled"
    done = await get_payment(stripe_client, world.kitchen, payment["id"])
    assert (done["status"], done["refunds"]) == ("cancelled", [])
    assert await postings(session_factory, f"payment_received:{payment['id']}") == 0

    # Too late to cancel: the buyer finished paying first. The success is refunded at once.
    order, payment = await paid_by_card(stripe_client, world, pm)
    await cancel(stripe_client, world.kitchen, order["id"])
    await handle_order_events(session_factory, "order.cancelled", order["id"])
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = stripe_event(event_id, "payment_intent.succeeded", intent(payment, "succeeded"))
    assert (await deliver_webhook(stripe_client, payload)).status_code == 200
    assert await tasks.handle_stripe_event(ctx, event_id) == "applied"
    assert await tasks.cancel_card(ctx, payment["id"]) == "nothing_to_cancel"
    late = await get_payment(stripe_client, world.kitchen, payment["id"])
    assert late["status"] == "succeeded"
    [refund] = late["refunds"]
    assert (refund["channel"], refund["status"], refund["reason"]) == (
        "stripe",
        "pending",
        "order_cancelled",
    )
    assert await postings(session_factory, f"payment_received:{payment['id']}") == 1
    assert await postings(session_factory, f"refund:{refund['id']}") == 1


async def test_paying_while_the_order_is_cancelled_never_leaves_money_owed(
    stripe_client: Client, world: PaymentsWorld, session_factory: Factory
) -> None:
    for _ in range(5):
        order = await new_order(stripe_client, world, world.kitchen)
        paid, _ = await asyncio.gather(
            pay(
                stripe_client,
                world.kitchen,
                order["id"],
                {"method": "card", "payment_method": "pm_card_visa"},
            ),
            stripe_client.post(f"/v1/orders/{order['id']}/cancel", headers=world.kitchen.headers),
        )
        await handle_order_events(session_factory, "order.cancelled", order["id"])
        if paid.status_code != 201:
            assert_problem(paid, 409, "payments.order_not_payable")
            continue
        payment = await get_payment(stripe_client, world.kitchen, paid.json()["id"])
        # Paid before the cancel was seen: the refund was granted.
        assert payment["status"] == "succeeded"
        assert [r["status"] for r in payment["refunds"]] == ["pending"]
