"""The persistent ledger against real PostgreSQL: idempotent posting, concurrency,
append-only storage, balances as sums."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.db import unit_of_work
from marketplace.ledger import (
    PLATFORM_HOLDER,
    AccountKey,
    AccountPurpose,
    Entry,
    JournalTransaction,
    LedgerService,
    PostResult,
    ReferenceConflict,
    TransactionKind,
    postings,
)
from marketplace.ledger.domain import (
    InvalidPostingAmount,
    InvalidReference,
    UnbalancedTransaction,
    account_balances,
    same_posting,
)

Factory = async_sessionmaker[AsyncSession]


def orgs(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


async def post(factory: Factory, tx: JournalTransaction) -> PostResult:
    async with unit_of_work(factory) as uow:
        result = await LedgerService(uow).post(tx)
        await uow.commit()
    return result


async def stored(factory: Factory, reference: str) -> list[JournalTransaction]:
    async with unit_of_work(factory) as uow:
        found = await LedgerService(uow).transactions(reference=reference)
    return [t.journal() for t in found]


async def balances(factory: Factory, organization_id: uuid.UUID) -> dict[AccountKey, int]:
    async with unit_of_work(factory) as uow:
        rows = await LedgerService(uow).balances(organization_id)
    return {
        AccountKey(organization_id=organization_id, purpose=p, counterparty_id=c): b
        for p, c, b in rows
    }


async def scalar(factory: Factory, sql: str, **params: Any) -> Any:
    async with factory() as session:
        return (await session.execute(text(sql), params)).scalar_one()


# --- idempotency ------------------------------------------------------------------------


async def test_posting_the_same_reference_twice_records_it_once(
    session_factory: Factory,
) -> None:
    buyer, seller = orgs(2)
    tx = postings.stock_sale(uuid.uuid4(), buyer, seller, gross=100_000, vat=11_000)

    first = await post(session_factory, tx)
    again = await post(session_factory, tx)
    # Entries in another order and another memo are still the same posting.
    shuffled = JournalTransaction(
        reference=tx.reference, kind=tx.kind, entries=tx.entries[::-1], memo="retried"
    )
    third = await post(session_factory, shuffled)

    assert first.created
    assert not again.created
    assert not third.created
    assert first.transaction_id == again.transaction_id == third.transaction_id
    assert await stored(session_factory, tx.reference) == [tx]
    count = "SELECT count(*) FROM ledger_entries WHERE transaction_id = :id"
    assert await scalar(session_factory, count, id=first.transaction_id) == 3


async def test_replay_inside_the_same_unit_of_work_is_recognised(
    session_factory: Factory,
) -> None:
    buyer = orgs(1)[0]
    tx = postings.payment_received(uuid.uuid4(), buyer, amount=50_000, fee=1_500)
    async with unit_of_work(session_factory) as uow:
        ledger = LedgerService(uow)
        first = await ledger.post(tx)
        second = await ledger.post(tx)
        await uow.commit()
    assert first.created
    assert not second.created
    assert first.transaction_id == second.transaction_id


async def test_same_reference_with_different_entries_is_a_conflict(
    session_factory: Factory,
) -> None:
    buyer, seller = orgs(2)
    leg = uuid.uuid4()
    original = postings.stock_sale(leg, buyer, seller, gross=100_000, vat=0)
    await post(session_factory, original)

    with pytest.raises(ReferenceConflict) as excinfo:
        await post(session_factory, postings.stock_sale(leg, buyer, seller, gross=90_000, vat=0))
    assert excinfo.value.code == "ledger.reference_conflict"
    assert excinfo.value.status == 409
    assert excinfo.value.extra["reference"] == original.reference
    # A different kind under the same reference conflicts too.
    other_kind = JournalTransaction(
        reference=original.reference, kind=TransactionKind.LEVY, entries=original.entries
    )
    with pytest.raises(ReferenceConflict):
        await post(session_factory, other_kind)
    assert await stored(session_factory, original.reference) == [original]


async def test_invalid_transactions_store_nothing(session_factory: Factory) -> None:
    a, b = orgs(2)
    reference = f"test:{uuid.uuid4()}"

    def make(*amounts: int, ref: str = reference) -> JournalTransaction:
        purposes = [AccountPurpose.BUYER_RECEIVABLE, AccountPurpose.SELLER_PAYABLE]
        return JournalTransaction(
            reference=ref,
            kind=TransactionKind.STOCK_SALE,
            entries=tuple(
                Entry(account=AccountKey(organization_id=org, purpose=purpose), amount=amount)
                for org, purpose, amount in zip((a, b), purposes, amounts, strict=False)
            ),
        )

    with pytest.raises(UnbalancedTransaction) as excinfo:
        await post(session_factory, make(1_000, -900))
    assert excinfo.value.status == 422
    assert excinfo.value.extra["imbalance"] == 100
    with pytest.raises(InvalidReference):
        await post(session_factory, make(1_000, -1_000, ref="x" * 256))
    with pytest.raises(InvalidPostingAmount):
        await post(session_factory, make(2**63, -(2**63)))
    assert await stored(session_factory, reference) == []
    assert await balances(session_factory, a) == {}
    # The reference is still free for the correct posting.
    assert (await post(session_factory, make(1_000, -1_000))).created


async def test_concurrent_posts_of_one_reference_record_exactly_one(
    session_factory: Factory,
) -> None:
    buyer, coop, umkm = orgs(3)
    tx = postings.consignment_sale(
        uuid.uuid4(), buyer, coop, umkm, gross=250_000, commission=25_000, vat=0
    )
    start = asyncio.Event()

    async def one() -> PostResult:
        async with unit_of_work(session_factory) as uow:
            await start.wait()
            result = await LedgerService(uow).post(tx)
            await asyncio.sleep(0.01)  # hold the transaction open so the others pile up
            await uow.commit()
        return result

    tasks = [asyncio.create_task(one()) for _ in range(20)]
    await asyncio.sleep(0.05)
    start.set()
    results = await asyncio.gather(*tasks)

    assert sum(r.created for r in results) == 1
    assert len({r.transaction_id for r in results}) == 1
    count = "SELECT count(*) FROM ledger_transactions WHERE reference = :ref"
    assert await scalar(session_factory, count, ref=tx.reference) == 1
    entries = "SELECT count(*) FROM ledger_entries WHERE transaction_id = :id"
    assert await scalar(session_factory, entries, id=results[0].transaction_id) == 3
    assert await balances(session_factory, umkm) == {
        postings.consignor_payable_account(umkm, coop): -225_000
    }


async def test_concurrent_conflicting_posts_keep_the_first(session_factory: Factory) -> None:
    buyer, seller = orgs(2)
    leg = uuid.uuid4()
    candidates = [postings.stock_sale(leg, buyer, seller, gross=1_000 + i, vat=0) for i in range(8)]

    async def one(tx: JournalTransaction) -> JournalTransaction | None:
        try:
            await post(session_factory, tx)
        except ReferenceConflict:
            return None
        return tx

    winners = [w for w in await asyncio.gather(*(one(tx) for tx in candidates)) if w]
    assert len(winners) == 1
    assert await stored(session_factory, candidates[0].reference) == winners


# --- append-only storage ----------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount = amount * 2 WHERE transaction_id = :id",
        "DELETE FROM ledger_entries WHERE transaction_id = :id",
        "UPDATE ledger_transactions SET memo = 'edited' WHERE id = :id",
        "DELETE FROM ledger_transactions WHERE id = :id",
        "TRUNCATE ledger_entries",
        "TRUNCATE ledger_transactions CASCADE",
    ],
)
async def test_ledger_tables_are_append_only(session_factory: Factory, statement: str) -> None:
    buyer = orgs(1)[0]
    result = await post(
        session_factory, postings.payment_received(uuid.uuid4(), buyer, amount=10_000)
    )
    async with session_factory() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(statement), {"id": result.transaction_id})
        await session.rollback()
    entries = "SELECT count(*) FROM ledger_entries WHERE transaction_id = :id"
    assert await scalar(session_factory, entries, id=result.transaction_id) == 2


async def test_a_zero_entry_cannot_be_stored_even_bypassing_the_service(
    session_factory: Factory,
) -> None:
    tx = postings.payment_received(uuid.uuid4(), orgs(1)[0], amount=10_000)
    transaction_id = (await post(session_factory, tx)).transaction_id
    async with session_factory() as session:
        with pytest.raises(DBAPIError, match="nonzero_amount"):
            await session.execute(
                text(
                    "INSERT INTO ledger_entries (id, transaction_id, organization_id, purpose,"
                    " amount) VALUES (gen_random_uuid(), :tx, gen_random_uuid(), 'cash', 0)"
                ),
                {"tx": transaction_id},
            )
        await session.rollback()


# --- balances ---------------------------------------------------------------------------


async def test_balances_are_sums_and_the_books_balance(session_factory: Factory) -> None:
    buyer, coop, umkm, seller, city, trade = orgs(6)
    posted = [
        postings.consignment_sale(uuid.uuid4(), buyer, coop, umkm, 100_000, 10_000, 11_000),
        postings.consignment_sale(uuid.uuid4(), buyer, coop, umkm, 50_000, 5_000, 0),
        postings.stock_sale(uuid.uuid4(), buyer, seller, 70_000, 7_700),
        postings.levy(uuid.uuid4(), trade, seller, 2_000),
        postings.government_invoice(uuid.uuid4(), city, seller, 3_000_000, 330_000, 45_000),
        postings.refund(uuid.uuid4(), buyer, 5_000),
    ]
    for tx in posted:
        await post(session_factory, tx)
    await post(session_factory, posted[0])  # a replay changes nothing

    expected = account_balances(posted)
    found: dict[AccountKey, int] = {}
    for org in (buyer, coop, umkm, seller, city, trade):
        found |= await balances(session_factory, org)
    assert found == expected
    assert found[postings.consignor_payable_account(umkm, coop)] == -(90_000 + 45_000)
    assert found[AccountKey(organization_id=buyer, purpose=AccountPurpose.BUYER_RECEIVABLE)] == (
        111_000 + 50_000 + 77_700 + 5_000
    )
    # None of these touch the platform, so these organizations' books sum to zero.
    assert sum(found.values()) == 0

    # Balances are computed from the entries, not cached: check against SQL directly.
    direct = "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE organization_id = :org"
    for org in (buyer, coop, umkm, seller):
        assert await scalar(session_factory, direct, org=org) == sum(
            (await balances(session_factory, org)).values()
        )


async def test_the_whole_ledger_sums_to_zero(session_factory: Factory) -> None:
    await post(session_factory, postings.payment_received(uuid.uuid4(), uuid.uuid4(), 9_000, 100))
    assert await scalar(session_factory, "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries") == 0
    unbalanced = (
        "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries"
        " GROUP BY transaction_id HAVING SUM(amount) <> 0) AS t"
    )
    assert await scalar(session_factory, unbalanced) == 0


async def test_transactions_page_by_organization_without_duplicates(
    session_factory: Factory,
) -> None:
    buyer, seller = orgs(2)
    posted = [postings.stock_sale(uuid.uuid4(), buyer, seller, 1_000 + i, 0) for i in range(7)]
    for tx in posted:
        await post(session_factory, tx)
    seen: list[str] = []
    after: uuid.UUID | None = None
    async with unit_of_work(session_factory) as uow:
        ledger = LedgerService(uow)
        while True:
            page = await ledger.transactions(organization_id=seller, after=after, limit=3)
            if not page:
                break
            seen += [t.reference for t in page]
            after = page[-1].id
        own = await ledger.transactions(organization_id=seller, only_entries_of=seller)
    assert seen == [tx.reference for tx in posted]
    assert all(e.account.organization_id == seller for t in own for e in t.entries)


# --- property: random sequences of money events ------------------------------------------

AMOUNT = st.integers(min_value=1, max_value=50_000_000)
PART = st.integers(min_value=0, max_value=10_000_000)

Builder = Callable[[list[uuid.UUID]], JournalTransaction]


@st.composite
def money_event(draw: st.DrawFn) -> Builder:
    """One builder call over indices into the example's organizations."""
    o = [draw(st.integers(min_value=0, max_value=3)) for _ in range(3)]
    gross = draw(AMOUNT)
    part = min(draw(PART), gross)
    vat = draw(PART)
    domain_id = uuid.UUID(int=draw(st.integers(min_value=0, max_value=2**128 - 1)))
    kind = draw(st.sampled_from(sorted(set(TransactionKind) - {TransactionKind.REVERSAL})))
    builders: dict[TransactionKind, Builder] = {
        TransactionKind.CONSIGNMENT_SALE: lambda g: postings.consignment_sale(
            domain_id, g[o[0]], g[o[1]], g[o[2]], gross, part, vat
        ),
        TransactionKind.STOCK_SALE: lambda g: postings.stock_sale(
            domain_id, g[o[0]], g[o[1]], gross, vat
        ),
        TransactionKind.CONSIGNMENT_PAYOUT: lambda g: postings.consignment_payout(
            domain_id, g[o[1]], g[o[2]], gross
        ),
        TransactionKind.SELLER_PAYOUT: lambda g: postings.seller_payout(domain_id, g[o[1]], gross),
        TransactionKind.PAYMENT_RECEIVED: lambda g: postings.payment_received(
            domain_id, g[o[0]], gross, part
        ),
        TransactionKind.REFUND: lambda g: postings.refund(domain_id, g[o[0]], gross),
        TransactionKind.REFUND_PAID: lambda g: postings.refund_paid(domain_id, g[o[0]], gross),
        TransactionKind.LEVY: lambda g: postings.levy(domain_id, g[o[0]], g[o[1]], gross),
        TransactionKind.GOVERNMENT_INVOICE: lambda g: postings.government_invoice(
            domain_id, g[o[0]], g[o[1]], gross, vat, part
        ),
        TransactionKind.CONSIGNMENT_ADJUSTMENT: lambda g: postings.consignment_adjustment(
            domain_id, g[o[1]], g[o[2]], gross if part % 2 else -gross
        ),
    }
    return builders[kind]


# Each step: a new money event, or a replay / reversal of an earlier one (by index).
STEP = st.one_of(
    money_event(),
    st.tuples(st.just("replay"), st.integers(min_value=0, max_value=30)),
    st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=30)),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=12))
async def test_random_postings_keep_the_books_balanced(
    session_factory: Factory, steps: list[Any]
) -> None:
    group = orgs(4)  # fresh organizations per example: examples don't see each other
    unique: dict[str, JournalTransaction] = {}
    history: list[JournalTransaction] = []
    async with unit_of_work(session_factory) as uow:
        ledger = LedgerService(uow)
        for number, step in enumerate(steps):
            if isinstance(step, tuple):
                if not history:
                    continue
                action, index = step
                earlier = history[index % len(history)]
                tx = earlier if action == "replay" else postings.reversal(earlier)
            else:
                # Hypothesis happily draws one domain id twice; a real event id is unique
                # (repeats are the explicit replay steps), and examples must not collide.
                tx = step(group)
                tx = JournalTransaction(
                    reference=f"{tx.reference}:{group[0]}:{number}",
                    kind=tx.kind,
                    entries=tx.entries,
                )
            result = await ledger.post(tx)
            assert result.created == (tx.reference not in unique)
            unique.setdefault(tx.reference, tx)
            history.append(tx)
        await uow.commit()

    platform_entries = 0
    for reference, tx in unique.items():
        [stored_tx] = await stored(session_factory, reference)
        assert same_posting(stored_tx, tx)
        assert sum(e.amount for e in stored_tx.entries) == 0
        platform_entries += sum(
            e.amount for e in stored_tx.entries if e.account.organization_id == PLATFORM_HOLDER
        )

    expected = account_balances(unique.values())
    found: dict[AccountKey, int] = {}
    for org in group:
        found |= await balances(session_factory, org)
    assert found == {k: v for k, v in expected.items() if k.organization_id != PLATFORM_HOLDER}
    assert sum(found.values()) + platform_entries == 0
