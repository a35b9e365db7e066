"""Ledger read API: balances and transactions, who may see which books, pagination."""

from __future__ import annotations

import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.db import unit_of_work
from marketplace.ledger import PLATFORM_HOLDER, JournalTransaction, LedgerService
from marketplace.ledger.domain import postings
from tests.support import Actor, Actors, assert_problem

Client = AsyncTestClient[Litestar]


async def post_all(
    factory: async_sessionmaker[AsyncSession], *transactions: JournalTransaction
) -> None:
    async with unit_of_work(factory) as uow:
        ledger = LedgerService(uow)
        for tx in transactions:
            await ledger.post(tx)
        await uow.commit()


async def consignment_books(actors: Actors) -> tuple[Actor, Actor, Actor, list[JournalTransaction]]:
    """A kitchen buys consigned goods at a cooperative and pays; the UMKM is paid out."""
    kitchen = await actors.org("kitchen", "finance")
    coop = await actors.org("cooperative", "finance")
    umkm = await actors.org("umkm", "finance")
    k, c, u = kitchen.organization_id, coop.organization_id, umkm.organization_id
    transactions = [
        postings.consignment_sale(uuid.uuid4(), k, c, u, gross=200_000, commission=20_000, vat=0),
        postings.payment_received(uuid.uuid4(), k, amount=200_000, fee=2_000),
        postings.consignment_payout(uuid.uuid4(), c, u, amount=180_000),
    ]
    await post_all(actors.factory, *transactions)
    return kitchen, coop, umkm, transactions


async def test_balances_of_my_organization(client: Client, actors: Actors) -> None:
    kitchen, coop, umkm, _ = await consignment_books(actors)

    response = await client.get(
        "/v1/ledger/balances",
        params={"organization_id": str(coop.organization_id)},
        headers=coop.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "organization_id": str(coop.organization_id),
        "accounts": [
            {
                "purpose": "commission_revenue",
                "counterparty_id": None,
                "balance": -20_000,
                "currency": "IDR",
            }
        ],
    }

    # Without an id: the caller's own books. A settled account shows a zero balance.
    response = await client.get("/v1/ledger/balances", headers=umkm.headers)
    assert response.status_code == 200, response.text
    assert response.json()["accounts"] == [
        {
            "purpose": "consignor_payable",
            "counterparty_id": str(coop.organization_id),
            "balance": 0,
            "currency": "IDR",
        }
    ]
    response = await client.get("/v1/ledger/balances", headers=kitchen.headers)
    assert response.json()["accounts"][0]["balance"] == 0


async def test_platform_sees_any_books_and_its_own(client: Client, actors: Actors) -> None:
    kitchen, _, _, _ = await consignment_books(actors)
    platform = await actors.platform_admin()

    response = await client.get(
        "/v1/ledger/balances",
        params={"organization_id": str(kitchen.organization_id)},
        headers=platform.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["accounts"] == [
        {"purpose": "buyer_receivable", "counterparty_id": None, "balance": 0, "currency": "IDR"}
    ]

    own = await client.get("/v1/ledger/balances", headers=platform.headers)
    assert own.status_code == 200, own.text
    assert own.json()["organization_id"] == str(PLATFORM_HOLDER)
    purposes = {a["purpose"] for a in own.json()["accounts"]}
    assert {"cash", "payment_fees"} <= purposes


@pytest.mark.parametrize("path", ["/v1/ledger/balances", "/v1/ledger/transactions"])
async def test_authorization_matrix(client: Client, actors: Actors, path: str) -> None:
    coop = await actors.org("cooperative", "finance")
    mine = {"organization_id": str(coop.organization_id)}
    admin = await actors.key_for(coop, "admin")
    platform = await actors.platform_admin()
    platform_finance = await actors.key_for(platform, "finance")
    other_finance = await actors.org("cooperative", "finance")

    for allowed in (coop, admin, platform, platform_finance):
        response = await client.get(path, params=mine, headers=allowed.headers)
        assert response.status_code == 200, (allowed.role, response.text)

    for role in ("seller", "buyer", "viewer", "procurement"):
        own = await actors.key_for(coop, role)
        assert_problem(
            await client.get(path, params=mine, headers=own.headers), 403, "auth.forbidden"
        )

    # Another organization's books are not found, never forbidden.
    assert_problem(await client.get(path, params=mine, headers=other_finance.headers), 404)
    other_seller = await actors.key_for(other_finance, "seller")
    assert_problem(await client.get(path, params=mine, headers=other_seller.headers), 404)
    platform_books = {"organization_id": str(PLATFORM_HOLDER)}
    assert_problem(await client.get(path, params=platform_books, headers=coop.headers), 404)

    assert_problem(await client.get(path, params=mine), 401, "auth.unauthenticated")


async def test_transactions_show_an_organization_only_its_own_entries(
    client: Client, actors: Actors
) -> None:
    kitchen, _, umkm, transactions = await consignment_books(actors)
    sale = transactions[0]

    response = await client.get("/v1/ledger/transactions", headers=kitchen.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    assert [t["reference"] for t in body["items"]] == [
        transactions[0].reference,
        transactions[1].reference,
    ]
    first = body["items"][0]
    assert first["kind"] == "consignment_sale"
    # The kitchen sees what it owes, not the cooperative's commission.
    assert first["entries"] == [
        {
            "organization_id": str(kitchen.organization_id),
            "purpose": "buyer_receivable",
            "counterparty_id": None,
            "amount": 200_000,
            "currency": "IDR",
        }
    ]

    # The platform sees the whole, balanced transaction.
    platform = await actors.platform_admin()
    response = await client.get(
        "/v1/ledger/transactions", params={"reference": sale.reference}, headers=platform.headers
    )
    [whole] = response.json()["items"]
    assert len(whole["entries"]) == 3
    assert sum(e["amount"] for e in whole["entries"]) == 0
    assert all(e["currency"] == "IDR" for e in whole["entries"])

    # A reference outside the caller's books is simply not in its list.
    payout = transactions[2].reference
    response = await client.get(
        "/v1/ledger/transactions", params={"reference": payout}, headers=kitchen.headers
    )
    assert response.json()["items"] == []
    response = await client.get(
        "/v1/ledger/transactions", params={"reference": payout}, headers=umkm.headers
    )
    assert [t["reference"] for t in response.json()["items"]] == [payout]


async def test_transactions_paginate_without_duplicates(client: Client, actors: Actors) -> None:
    seller = await actors.org("bumn", "finance")
    buyer = await actors.org("kitchen", "finance")
    posted = [
        postings.stock_sale(uuid.uuid4(), buyer.organization_id, seller.organization_id, n, 0)
        for n in range(1_000, 1_007)
    ]
    await post_all(actors.factory, *posted)
    await post_all(actors.factory, posted[2])  # a replay adds nothing

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            "/v1/ledger/transactions", params=params, headers=seller.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 3
        seen += [t["reference"] for t in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [tx.reference for tx in posted]
    assert len(set(seen)) == len(seen)


async def test_bad_parameters_are_400(client: Client, actors: Actors) -> None:
    coop = await actors.org("cooperative", "finance")
    for params in (
        {"cursor": "not-a-cursor!"},
        {"limit": "0"},
        {"limit": "201"},
        {"organization_id": "nope"},
        {"reference": ""},
        {"reference": "x" * 256},
    ):
        response = await client.get("/v1/ledger/transactions", params=params, headers=coop.headers)
        assert_problem(response, 400)
    response = await client.get(
        "/v1/ledger/balances", params={"organization_id": "nope"}, headers=coop.headers
    )
    assert_problem(response, 400)
