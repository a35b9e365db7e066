"""A settlement run against an oracle written out in Python from the raw records.

Varied data (random prices, quantities and commission per sale, signed adjustments that
leave some consignors in debt, record times independent of their numbers so a past cut-off
stops a range early), settled by successive runs. After each run every statement is what
the oracle says: its range, its totals summed over it, the balance carried from the pair's
previous statement, its payout (one, to the agreement's account, exactly when something is
due), the agreement's cycle restarted, and its two events carrying the same figures and
payout. The run's one statement writes all of these; nothing here reads it back the way the
run does.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.consignment.domain.events import StatementIssued
from marketplace.consignment.settlement_service import SettlementService
from marketplace.db import unit_of_work
from marketplace.events import payload_of
from marketplace.ids import new_id
from tests.test_consignment_settlement import seed

Factory = async_sessionmaker[AsyncSession]


@dataclass
class Record:
    seq: int
    at: dt.datetime
    gross: int = 0
    commission: int = 0
    adjustment: int = 0
    is_sale: bool = True


async def add_records(
    factory: Factory, coop: uuid.UUID, rng: random.Random, now: dt.datetime, count: int
) -> None:
    """`count` sales and adjustments spread over the consignors, made up to 10 hours ago
    in an order unrelated to the order they are numbered in."""
    async with factory() as session:
        agreements = (
            await session.execute(
                text(
                    "SELECT id, consignor_id, commission_bps FROM consignment_agreements "
                    "WHERE cooperative_id = :c ORDER BY consignor_id"
                ),
                {"c": coop},
            )
        ).all()
        for _ in range(count):
            agreement, consignor, bps = rng.choice(agreements)
            at = now - dt.timedelta(minutes=rng.randrange(1, 600))
            if rng.random() < 0.85:
                quantity, price = rng.randrange(1, 9), rng.randrange(500, 250_000)
                await session.execute(
                    text(
                        "INSERT INTO consignment_sales (id, leg_id, order_id, listing_id, "
                        "agreement_id, cooperative_id, consignor_id, buyer_id, product_id, "
                        "quantity, unit_price, gross_amount, commission_bps, "
                        "commission_amount, vat_amount, sold_at) VALUES (:id, :leg, :order, "
                        "NULL, :a, :c, :k, :c, :p, :q, :u, :g, :bps, :commission, 0, :at)"
                    ),
                    {
                        "id": new_id(),
                        "leg": new_id(),
                        "order": new_id(),
                        "a": agreement,
                        "c": coop,
                        "k": consignor,
                        "p": new_id(),
                        "q": quantity,
                        "u": price,
                        "g": quantity * price,
                        "bps": bps,
                        "commission": quantity * price * bps // 10_000,
                        "at": at,
                    },
                )
            else:
                # Mostly debts, large enough that some statements close below zero.
                amount = rng.choice([-1, -1, 1]) * rng.randrange(1, 400_000)
                await session.execute(
                    text(
                        "INSERT INTO consignment_adjustments (id, agreement_id, "
                        "cooperative_id, consignor_id, amount, reason, created_at) "
                        "VALUES (:id, :a, :c, :k, :amount, 'oracle', :at)"
                    ),
                    {
                        "id": new_id(),
                        "a": agreement,
                        "c": coop,
                        "k": consignor,
                        "amount": amount,
                        "at": at,
                    },
                )
        await session.commit()


async def records_of(session: AsyncSession, coop: uuid.UUID) -> dict[uuid.UUID, list[Record]]:
    """Every consignor's records in number order."""
    by_consignor: dict[uuid.UUID, list[Record]] = {}
    rows = await session.execute(
        text(
            "SELECT consignor_id, seq, sold_at, gross_amount, commission_amount, 0, true "
            "FROM consignment_sales WHERE cooperative_id = :c "
            "UNION ALL SELECT consignor_id, seq, created_at, 0, 0, amount, false "
            "FROM consignment_adjustments WHERE cooperative_id = :c ORDER BY 2"
        ),
        {"c": coop},
    )
    for consignor, seq, at, gross, commission, adjustment, is_sale in rows:
        by_consignor.setdefault(consignor, []).append(
            Record(seq, at, gross, commission, adjustment, is_sale)
        )
    return by_consignor


@dataclass
class Expected:
    from_seq: int
    to_seq: int
    opening: int
    sales_count: int
    gross: int
    commission: int
    adjustments: int

    @property
    def balance(self) -> int:
        return self.opening + self.gross - self.commission + self.adjustments


def oracle(records: list[Record], head: int, opening: int, cutoff: dt.datetime) -> Expected | None:
    """The pair's next statement: the longest run of records numbered after `head`, all
    made before `cutoff` (None: no such record)."""
    taken: list[Record] = []
    for record in records:
        if record.seq <= head:
            continue
        if record.at >= cutoff:
            break
        taken.append(record)
    if not taken:
        return None
    sales = [r for r in taken if r.is_sale]
    return Expected(
        from_seq=head,
        to_seq=taken[-1].seq,
        opening=opening,
        sales_count=len(sales),
        gross=sum(r.gross for r in sales),
        commission=sum(r.commission for r in sales),
        adjustments=sum(r.adjustment for r in taken),
    )


async def check_run(
    factory: Factory,
    coop: uuid.UUID,
    run_id: uuid.UUID,
    cutoff: dt.datetime,
    records: dict[uuid.UUID, list[Record]],
    heads: dict[uuid.UUID, tuple[int, int]],
) -> None:
    """The run's statements, payouts, agreements and events are the oracle's; `heads`
    (consignor → (to_seq, closing balance) of its last statement) moves on."""
    expected = {
        consignor: e
        for consignor, pair_records in records.items()
        if (e := oracle(pair_records, *heads.get(consignor, (0, 0)), cutoff)) is not None
    }
    async with factory() as session:
        statements = {
            row.consignor_id: row
            for row in await session.execute(
                text(
                    "SELECT st.*, p.id AS payout_id, p.amount AS payout_amount, "
                    "p.status AS payout_status, p.bank_account_holder AS payout_holder, "
                    "a.bank_account_holder AS agreement_holder, "
                    "a.last_settled_at AS agreement_settled_at "
                    "FROM consignment_statements st "
                    "JOIN consignment_agreements a ON a.id = st.agreement_id "
                    "LEFT JOIN consignment_payouts p ON p.statement_id = st.id "
                    "WHERE st.run_id = :r"
                ),
                {"r": run_id},
            )
        }
        events = (
            await session.execute(
                text(
                    "SELECT organization_id, payload, attempts, handled_at FROM outbox_events "
                    "WHERE topic = 'consignment.statement.issued' "
                    "AND payload->>'run_id' = :r"
                ),
                {"r": str(run_id)},
            )
        ).all()
        run = (
            await session.execute(
                text(
                    "SELECT statements_count, sales_count, payout_total "
                    "FROM consignment_settlement_runs WHERE id = :r"
                ),
                {"r": run_id},
            )
        ).one()
    assert set(statements) == set(expected)
    payloads: dict[uuid.UUID, list[tuple[uuid.UUID, dict[str, object]]]] = {}
    assert all((attempts, handled) == (0, None) for _, _, attempts, handled in events)
    for organization, payload, _, _ in sorted(events, key=lambda e: e[0] != coop):
        payloads.setdefault(uuid.UUID(payload["statement_id"]), []).append((organization, payload))
    for consignor, e in expected.items():
        st = statements[consignor]
        due, closing = max(e.balance, 0), min(e.balance, 0)
        assert (
            st.from_seq,
            st.to_seq,
            st.opening_balance,
            st.sales_count,
            st.gross_sales,
            st.commission,
            st.net_sales,
            st.adjustments_total,
            st.payout_due,
            st.closing_balance,
        ) == (
            e.from_seq,
            e.to_seq,
            e.opening,
            e.sales_count,
            e.gross,
            e.commission,
            e.gross - e.commission,
            e.adjustments,
            due,
            closing,
        )
        if due > 0:
            assert (st.payout_amount, st.payout_status, st.payout_holder) == (
                due,
                "pending",
                st.agreement_holder,
            )
        else:
            assert st.payout_id is None
        assert st.agreement_settled_at is not None
        # Its two events, one to each party, carry what `payload_of` makes of the
        # `StatementIssued` of the stored statement (the run builds them in SQL).
        issued = StatementIssued(
            statement_id=st.id,
            run_id=run_id,
            cooperative_organization_id=coop,
            consignor_organization_id=consignor,
            cutoff=st.cutoff,
            opening_balance=e.opening,
            sales_count=e.sales_count,
            gross_sales=e.gross,
            commission=e.commission,
            net_sales=e.gross - e.commission,
            returns_count=0,
            returns_quantity=0,
            adjustments_total=e.adjustments,
            payout_due=due,
            closing_balance=closing,
            payout_id=st.payout_id,
        )
        assert payloads.pop(st.id) == [(coop, payload_of(issued)), (consignor, payload_of(issued))]
        heads[consignor] = (e.to_seq, closing)
    assert payloads == {}  # no event for anything but this run's statements
    assert tuple(run) == (
        len(expected),
        sum(e.sales_count for e in expected.values()),
        sum(max(e.balance, 0) for e in expected.values()),
    )


@pytest.mark.parametrize("seed_value", [5, 19, 2026])
async def test_successive_runs_agree_with_the_oracle(
    session_factory: Factory, seed_value: int
) -> None:
    rng = random.Random(seed_value)
    coop, *_ = await seed(session_factory, consignors=5, sales_each=0)
    now = dt.datetime.now(dt.UTC)
    heads: dict[uuid.UUID, tuple[int, int]] = {}
    await add_records(session_factory, coop, rng, now, 60)
    # Cut-offs in the past stop ranges early; records made later arrive between runs.
    for cutoff, arriving in (
        (now - dt.timedelta(hours=6), 40),
        (now - dt.timedelta(hours=2), 0),
        (now + dt.timedelta(minutes=1), 0),
        (now + dt.timedelta(minutes=2), 0),
    ):
        async with unit_of_work(session_factory) as uow:
            run = await SettlementService(uow).settle(coop, cutoff)
            await uow.commit()
        async with session_factory() as session:
            records = await records_of(session, coop)
        await check_run(session_factory, coop, run.id, cutoff, records, heads)
        if arriving:
            await add_records(session_factory, coop, rng, now, arriving)
    # Everything is settled now, each sale once: the plain GROUP BY's totals.
    async with session_factory() as session:
        oracle_totals = (
            await session.execute(
                text(
                    "SELECT count(*), sum(gross_amount), sum(commission_amount) "
                    "FROM consignment_sales WHERE cooperative_id = :c"
                ),
                {"c": coop},
            )
        ).one()
        settled = (
            await session.execute(
                text(
                    "SELECT sum(sales_count), sum(gross_sales), sum(commission) "
                    "FROM consignment_statements WHERE cooperative_id = :c"
                ),
                {"c": coop},
            )
        ).one()
    assert tuple(settled) == tuple(oracle_totals)
