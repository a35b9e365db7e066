"""`GET /v1/consignment/statements/{id}` through the read pool, off the ORM, answers as the
ORM path did (`SettlementService.statement` with the `answers` builders): for the
cooperative, the consignor and the platform, with sales, a return, adjustments and the
payout, and for a statement of adjustments alone (no sales, no returns, no payout).
Another organization's statement is 404, as is one that does not exist."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Principal
from marketplace.consignment.answers import (
    adjustment_out,
    return_out,
    sale_out,
    statement_summary,
)
from marketplace.consignment.schemas import StatementOut
from marketplace.consignment.settlement_service import SettlementService
from marketplace.db import UnitOfWork
from tests.api.test_consignment import (
    ConsignmentWorld,
    adjust,
    make_agreement,
    order_and_deliver,
    run_outbox,
    world,
)
from tests.builders.consignment import intake_body, post_intake
from tests.support import Actor, assert_problem

__all__ = ["world"]  # the fixture, shared with the consignment tests


async def orm_answer(
    factory: async_sessionmaker[AsyncSession], actor: Actor, statement_id: str
) -> Any:
    principal = Principal(
        organization_id=actor.organization_id, organization_kind=actor.kind, role=actor.role
    )
    async with factory() as session:
        statement, payout, sales, returns, adjustments = await SettlementService(
            UnitOfWork(session)
        ).statement(principal, uuid.UUID(statement_id))
        out = StatementOut(
            statement=statement_summary(statement, payout),
            sales=[sale_out(s) for s in sales],
            returns=[return_out(r) for r in returns],
            adjustments=[adjustment_out(a, statement.id) for a in adjustments],
        )
    return msgspec.json.decode(msgspec.json.encode(out))


async def settle(client: AsyncTestClient[Litestar], finance: Actor) -> list[dict[str, Any]]:
    run = await client.post(
        "/v1/consignment/settlement-runs",
        json={"cutoff": dt.datetime.now(dt.UTC).isoformat()},
        headers={**finance.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert run.status_code == 201, run.text
    statements: list[dict[str, Any]] = run.json()["statements"]
    return statements


async def test_a_statement_reads_off_the_orm_as_the_orm_answered(
    client: AsyncTestClient[Litestar],
    world: ConsignmentWorld,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    w = world
    agreement = await make_agreement(client, w.coop, w.umkm, bps=1000)
    proposed = await post_intake(
        client, w.coop, intake_body(agreement["id"], w.rice.id, quantity=10, unit_price=50_000)
    )
    assert proposed.status_code == 201, proposed.text
    await order_and_deliver(client, w, 2, 2)
    await order_and_deliver(client, w, 3, 3)
    assert await run_outbox(session_factory, "order.leg.delivered") >= 2
    returned = await client.post(
        "/v1/consignment/returns",
        json={"intake_id": proposed.json()["id"], "quantity": 1, "reason": "kemasan rusak"},
        headers=w.coop_seller.headers,
    )
    assert returned.status_code == 201, returned.text
    consignor = str(w.umkm.organization_id)
    for amount in (25_000, -10_000):
        made = await adjust(
            client, w.coop_finance, consignor_id=consignor, amount=amount, reason="koreksi"
        )
        assert made.status_code == 201, made.text
    [full] = await settle(client, w.coop_finance)
    loss = await adjust(
        client, w.coop_finance, consignor_id=consignor, amount=-900_000, reason="hilang"
    )
    assert loss.status_code == 201, loss.text
    [debt] = await settle(client, w.coop_finance)
    assert debt["payout_id"] is None

    answers = {}
    for statement in (full, debt):
        for actor in (w.coop, w.umkm, w.coop_finance, w.admin):
            answer = await client.get(
                f"/v1/consignment/statements/{statement['id']}", headers=actor.headers
            )
            assert answer.status_code == 200, answer.text
            assert answer.json() == await orm_answer(session_factory, actor, statement["id"])
            answers[statement["id"]] = answer.json()
        for stranger in (w.other_umkm, w.other_coop, w.kitchen):
            assert_problem(
                await client.get(
                    f"/v1/consignment/statements/{statement['id']}", headers=stranger.headers
                ),
                404,
            )
    detail = answers[full["id"]]
    assert [s["quantity"] for s in detail["sales"]] == [2, 3]
    assert [r["quantity"] for r in detail["returns"]] == [1]
    assert [a["amount"] for a in detail["adjustments"]] == [25_000, -10_000]
    assert detail["statement"]["payout_status"] == "pending"
    alone = answers[debt["id"]]
    assert (alone["sales"], alone["returns"]) == ([], [])
    assert [a["amount"] for a in alone["adjustments"]] == [-900_000]
    assert_problem(
        await client.get(f"/v1/consignment/statements/{uuid.uuid4()}", headers=w.umkm.headers),
        404,
    )
