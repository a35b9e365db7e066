"""A delivered leg of a seller's own goods posts its sale to the ledger, once (issue 13,
item 5): stock legs, Bulog-lot legs and trade-contract call-offs. Consignment legs post
through the consignment sale instead (tests/api/test_consignment.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.db import unit_of_work
from marketplace.ledger import AccountKey, AccountPurpose, LedgerService, PostedTransaction
from tests.api.test_orders import OrdersWorld, order_body, place
from tests.api.test_orders import world as world
from tests.api.test_procurement_lots import lot_world as lot_world
from tests.api.test_procurement_lots import open_lot_of
from tests.api.test_procurement_lots import order_body as lot_order_body
from tests.api.test_trade_contracts import BLITAR, DEPOK, contract_body, create_contract
from tests.api.test_trade_contracts import order_body as trade_order_body
from tests.api.test_trade_contracts import trade_world as trade_world
from tests.support import Actor, Actors, assert_problem

Factory = async_sessionmaker[AsyncSession]


async def sale_postings(factory: Factory, leg_id: str) -> list[PostedTransaction]:
    async with unit_of_work(factory) as uow:
        return await LedgerService(uow).transactions(reference=f"stock_sale:{leg_id}")


def entries_of(tx: PostedTransaction) -> dict[tuple[uuid.UUID, AccountPurpose], int]:
    assert sum(e.amount for e in tx.entries) == 0
    return {(e.account.organization_id, e.account.purpose): e.amount for e in tx.entries}


async def ship_and_deliver(
    client: AsyncTestClient[Litestar], leg: dict[str, Any], seller: Actor, buyer: Actor, got: int
) -> Any:
    shipped = await client.post(f"/v1/legs/{leg['id']}/ship", headers=seller.headers)
    assert shipped.status_code == 200, shipped.text
    return await client.post(
        f"/v1/legs/{leg['id']}/deliver", json={"received_quantity": got}, headers=buyer.headers
    )


async def test_a_delivered_stock_leg_posts_what_arrived_with_its_vat(
    client: AsyncTestClient[Litestar], world: OrdersWorld, session_factory: Factory
) -> None:
    kitchen, near = world.kitchen, world.near
    placed = await place(client, kitchen, order_body([(world.oil.id, 12)]))
    assert placed.status_code == 201, placed.text
    [leg] = placed.json()["legs"]
    assert (leg["kind"], leg["unit_price"], leg["vat_amount"]) == ("stock", 15_000, 19_800)
    assert await sale_postings(session_factory, leg["id"]) == []  # nothing before delivery

    delivered = await ship_and_deliver(client, leg, near, kitchen, got=10)  # 2 bottles leaked
    assert delivered.status_code == 200, delivered.text
    [tx] = await sale_postings(session_factory, leg["id"])
    gross, vat = 10 * 15_000, 10 * 15_000 * 11 // 100
    assert tx.kind == "stock_sale"
    assert entries_of(tx) == {
        (kitchen.organization_id, AccountPurpose.BUYER_RECEIVABLE): gross + vat,
        (near.organization_id, AccountPurpose.SELLER_PAYABLE): -gross,
        (near.organization_id, AccountPurpose.VAT_PAYABLE): -vat,
    }
    # What the kitchen owes now is the order less the short delivery's credit.
    order = (await client.get(f"/v1/orders/{placed.json()['id']}", headers=kitchen.headers)).json()
    assert gross + vat == order["total"] - order["credited_total"]


async def test_exempt_goods_post_no_vat_and_nothing_received_posts_nothing(
    client: AsyncTestClient[Litestar], world: OrdersWorld, session_factory: Factory
) -> None:
    kitchen, near = world.kitchen, world.near
    placed = await place(client, kitchen, order_body([(world.rice.id, 3)]))
    [leg] = placed.json()["legs"]
    assert (leg["supplier_organization_id"], leg["vat_amount"]) == (str(near.organization_id), 0)
    assert (await ship_and_deliver(client, leg, near, kitchen, got=3)).status_code == 200
    [tx] = await sale_postings(session_factory, leg["id"])
    assert entries_of(tx) == {
        (kitchen.organization_id, AccountPurpose.BUYER_RECEIVABLE): 3 * 66_000,
        (near.organization_id, AccountPurpose.SELLER_PAYABLE): -3 * 66_000,
    }

    lost = (await place(client, kitchen, order_body([(world.rice.id, 2)]))).json()["legs"]
    assert (await ship_and_deliver(client, lost[0], near, kitchen, got=0)).status_code == 200
    assert await sale_postings(session_factory, lost[0]["id"]) == []


async def test_concurrent_receipts_of_one_leg_post_once(
    client: AsyncTestClient[Litestar], world: OrdersWorld, session_factory: Factory
) -> None:
    kitchen, near = world.kitchen, world.near
    [leg] = (await place(client, kitchen, order_body([(world.oil.id, 6)]))).json()["legs"]
    assert (await client.post(f"/v1/legs/{leg['id']}/ship", headers=near.headers)).is_success
    responses = await asyncio.gather(
        *(
            client.post(
                f"/v1/legs/{leg['id']}/deliver",
                json={"received_quantity": 6},
                headers=kitchen.headers,
            )
            for _ in range(12)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 11, [
        r.text for r in responses
    ]
    for refused in (r for r in responses if r.status_code == 409):
        assert_problem(refused, 409, "state.invalid_transition")
    [tx] = await sale_postings(session_factory, leg["id"])
    assert entries_of(tx)[(kitchen.organization_id, AccountPurpose.BUYER_RECEIVABLE)] == (
        6 * 15_500 + 6 * 15_500 * 11 // 100
    )


async def test_a_bulog_lot_leg_posts_the_cooperatives_resale(
    client: AsyncTestClient[Litestar], lot_world: OrdersWorld, session_factory: Factory
) -> None:
    w = lot_world
    coop, kitchen = w.coop, w.kitchens[0]
    placed = await place(client, kitchen, lot_order_body(w.rice.id, 10))
    [leg] = placed.json()["legs"]
    assert leg["kind"] == "bulog_lot"
    lot = await open_lot_of(client, coop, w.rice.id)
    url = f"/v1/procurement/bulog-lots/{lot['id']}"
    assert (await client.post(f"{url}/submit", headers=coop.headers)).status_code == 200
    received = await client.post(
        f"{url}/receive", json={"received_quantity": 200}, headers=coop.headers
    )
    assert received.status_code == 200, received.text
    assert (await ship_and_deliver(client, leg, coop, kitchen, got=10)).status_code == 200
    [tx] = await sale_postings(session_factory, leg["id"])
    # The cooperative sells what it bought from Bulog: its turnover, not Bulog's.
    assert entries_of(tx) == {
        (kitchen.organization_id, AccountPurpose.BUYER_RECEIVABLE): 10 * 62_000,
        (coop.organization_id, AccountPurpose.SELLER_PAYABLE): -10 * 62_000,
    }


async def test_a_trade_contract_call_off_posts_its_sale_beside_its_levy(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    trade_world: OrdersWorld,
    session_factory: Factory,
) -> None:
    w = trade_world
    a, b, c = w.coops
    await create_contract(
        client, w.tc, contract_body(w.eggs.id, w.depok, [(a, 70), (b, 50), (c, 30)])
    )
    buyer = await actors.org("kitchen", "buyer", region_code=f"{DEPOK}.02.1004")
    placed = await place(client, buyer, trade_order_body(w.eggs.id, 10, f"{DEPOK}.02.1004"))
    assert placed.status_code == 201, placed.text
    [leg] = placed.json()["legs"]
    assert leg["kind"] == "trade_contract"
    supplier = next(x for x in w.coops if str(x.organization_id) == leg["supplier_organization_id"])
    assert supplier.region_code.startswith(BLITAR)
    assert (await ship_and_deliver(client, leg, supplier, buyer, got=10)).status_code == 200
    [tx] = await sale_postings(session_factory, leg["id"])
    assert entries_of(tx) == {
        (buyer.organization_id, AccountPurpose.BUYER_RECEIVABLE): 10 * 55_000,
        (supplier.organization_id, AccountPurpose.SELLER_PAYABLE): -10 * 55_000,
    }
    async with unit_of_work(session_factory) as uow:
        balances = {
            AccountKey(
                organization_id=supplier.organization_id,
                purpose=b.purpose,
                counterparty_id=b.counterparty_id,
            ): b.balance
            for b in await LedgerService(uow).balances(supplier.organization_id)
        }
    payable = AccountKey(
        organization_id=supplier.organization_id, purpose=AccountPurpose.SELLER_PAYABLE
    )
    # Owed the sale less the levy taken at shipment.
    assert balances[payable] == -(10 * 55_000 - leg["levy_amount"])
