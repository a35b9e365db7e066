from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.ledger.domain import (
    PLATFORM_HOLDER,
    AccountKey,
    AccountPurpose,
    DuplicateAccountEntry,
    EmptyTransaction,
    Entry,
    InvalidPostingAmount,
    InvalidReference,
    JournalTransaction,
    ReferenceConflict,
    TransactionKind,
    UnbalancedTransaction,
    ZeroEntry,
    account_balances,
    postings,
    same_posting,
    validate_transaction,
)

BUYER, COOP, UMKM, SELLER, CITY, TRADE = (uuid.UUID(int=n) for n in range(1, 7))
CASH = AccountKey(organization_id=PLATFORM_HOLDER, purpose=AccountPurpose.CASH)
FEES = AccountKey(organization_id=PLATFORM_HOLDER, purpose=AccountPurpose.PAYMENT_FEES)


def key(org: uuid.UUID, purpose: AccountPurpose) -> AccountKey:
    return AccountKey(organization_id=org, purpose=purpose)


def tx(*amounts: int, reference: str = "test:1") -> JournalTransaction:
    return JournalTransaction(
        reference=reference,
        kind=TransactionKind.STOCK_SALE,
        entries=tuple(
            Entry(account=key(uuid.UUID(int=100 + i), AccountPurpose.CASH), amount=amount)
            for i, amount in enumerate(amounts)
        ),
    )


def test_balanced_transaction_is_valid() -> None:
    validate_transaction(tx(500, -300, -200))


def test_unbalanced_transaction_is_refused_with_figures() -> None:
    with pytest.raises(UnbalancedTransaction) as excinfo:
        validate_transaction(tx(500, -300))
    assert excinfo.value.code == "ledger.unbalanced"
    assert excinfo.value.extra["imbalance"] == 200
    assert excinfo.value.extra["debits"] == 500
    assert excinfo.value.extra["credits"] == 300


def test_empty_transaction_is_refused() -> None:
    with pytest.raises(EmptyTransaction) as excinfo:
        validate_transaction(tx())
    assert excinfo.value.code == "ledger.empty"


def test_zero_entry_is_refused() -> None:
    with pytest.raises(ZeroEntry) as excinfo:
        validate_transaction(tx(0, 100, -100))
    assert excinfo.value.code == "ledger.zero_entry"


def test_same_account_twice_is_refused() -> None:
    twice = JournalTransaction(
        reference="x:1",
        kind=TransactionKind.LEVY,
        entries=(Entry(account=CASH, amount=5), Entry(account=CASH, amount=-5)),
    )
    with pytest.raises(DuplicateAccountEntry):
        validate_transaction(twice)


def test_blank_reference_is_refused() -> None:
    with pytest.raises(InvalidReference):
        validate_transaction(tx(1, -1, reference=" "))


def test_same_posting_recognises_a_replay_in_any_entry_order() -> None:
    first = tx(500, -300, -200)
    replay = JournalTransaction(
        reference=first.reference,
        kind=first.kind,
        entries=tuple(reversed(first.entries)),
        memo="retried",
    )
    assert same_posting(first, replay) is True


def test_different_references_are_different_postings() -> None:
    assert same_posting(tx(1, -1, reference="a"), tx(1, -1, reference="b")) is False


def test_same_reference_with_other_entries_conflicts() -> None:
    with pytest.raises(ReferenceConflict) as excinfo:
        same_posting(tx(2, -2), tx(3, -3))
    assert excinfo.value.code == "ledger.reference_conflict"
    assert excinfo.value.status == 409


def test_same_reference_with_other_kind_conflicts() -> None:
    other_kind = JournalTransaction(
        reference="test:1", kind=TransactionKind.LEVY, entries=tx(2, -2).entries
    )
    with pytest.raises(ReferenceConflict):
        same_posting(tx(2, -2), other_kind)


def entries_of(transaction: JournalTransaction) -> dict[AccountKey, int]:
    return {entry.account: entry.amount for entry in transaction.entries}


def test_consignment_sale_entries() -> None:
    sale_id = uuid.uuid4()
    posted = postings.consignment_sale(sale_id, BUYER, COOP, UMKM, 100_000, 15_000, 11_000)
    assert posted.reference == f"consignment_sale:{sale_id}"
    assert entries_of(posted) == {
        key(BUYER, AccountPurpose.BUYER_RECEIVABLE): 111_000,
        postings.consignor_payable_account(UMKM, COOP): -85_000,
        key(COOP, AccountPurpose.COMMISSION_REVENUE): -15_000,
        key(COOP, AccountPurpose.VAT_PAYABLE): -11_000,
    }


def test_zero_parts_are_left_out() -> None:
    posted = postings.consignment_sale(uuid.uuid4(), BUYER, COOP, UMKM, 50_000, 0, 0)
    assert len(posted.entries) == 2
    assert len(postings.payment_received(uuid.uuid4(), BUYER, 1_000).entries) == 2


def test_government_invoice_pays_the_supplier_net_of_withholding() -> None:
    posted = postings.government_invoice(uuid.uuid4(), CITY, SELLER, 10_000_000, 1_100_000, 150_000)
    assert entries_of(posted) == {
        key(CITY, AccountPurpose.BUYER_RECEIVABLE): 10_950_000,
        key(SELLER, AccountPurpose.PPH22_WITHHELD): 150_000,
        key(SELLER, AccountPurpose.SELLER_PAYABLE): -10_000_000,
        key(SELLER, AccountPurpose.VAT_PAYABLE): -1_100_000,
    }
    supplier_position = sum(
        amount
        for account, amount in entries_of(posted).items()
        if account.organization_id == SELLER
    )
    assert supplier_position == -(10_000_000 - 150_000 + 1_100_000)


def test_consignment_flow_closes_out() -> None:
    """Sale, payment with a fee, payout: the buyer and consignor end at zero and cash holds
    exactly the commission and VAT, less the fee."""
    books = [
        postings.consignment_sale(uuid.uuid4(), BUYER, COOP, UMKM, 100_000, 15_000, 11_000),
        postings.payment_received(uuid.uuid4(), BUYER, 111_000, fee=2_000),
        postings.consignment_payout(uuid.uuid4(), COOP, UMKM, 85_000),
    ]
    balances = account_balances(books)
    assert balances[key(BUYER, AccountPurpose.BUYER_RECEIVABLE)] == 0
    assert balances[postings.consignor_payable_account(UMKM, COOP)] == 0
    assert balances[CASH] == 15_000 + 11_000 - 2_000
    assert balances[FEES] == 2_000
    assert sum(balances.values()) == 0


def test_prepaid_then_refunded_order_closes_out() -> None:
    refund_id = uuid.uuid4()
    books = [
        postings.payment_received(uuid.uuid4(), BUYER, 50_000),
        postings.refund(refund_id, BUYER, 50_000),
        postings.refund_paid(refund_id, BUYER, 50_000),
    ]
    assert {k: v for k, v in account_balances(books).items() if v} == {}
    assert books[1].reference != books[2].reference


def test_stock_sale_with_levy_and_payout_closes_out() -> None:
    books = [
        postings.stock_sale(uuid.uuid4(), BUYER, SELLER, 1_000_000, 0),
        postings.payment_received(uuid.uuid4(), BUYER, 1_000_000),
        postings.levy(uuid.uuid4(), TRADE, SELLER, 20_000),
        postings.seller_payout(uuid.uuid4(), SELLER, 980_000),
    ]
    balances = account_balances(books)
    assert balances[key(SELLER, AccountPurpose.SELLER_PAYABLE)] == 0
    assert balances[key(TRADE, AccountPurpose.LEVY_PAYABLE)] == -20_000
    assert balances[CASH] == 20_000


def test_reversal_cancels_exactly_and_has_a_derived_reference() -> None:
    original = postings.stock_sale(uuid.uuid4(), BUYER, SELLER, 10_000, 1_100)
    undo = postings.reversal(original)
    assert undo.reference == f"reversal:{original.reference}"
    assert undo.kind is TransactionKind.REVERSAL
    assert all(v == 0 for v in account_balances([original, undo]).values())
    assert same_posting(undo, postings.reversal(original, memo="retry")) is True


def test_replayed_builder_output_is_the_same_posting() -> None:
    leg_id = uuid.uuid4()
    first = postings.stock_sale(leg_id, BUYER, SELLER, 10_000, 1_100)
    assert same_posting(first, postings.stock_sale(leg_id, BUYER, SELLER, 10_000, 1_100))
    with pytest.raises(ReferenceConflict):
        same_posting(first, postings.stock_sale(leg_id, BUYER, SELLER, 10_001, 1_100))


@pytest.mark.parametrize(
    "call",
    [
        lambda: postings.stock_sale(uuid.uuid4(), BUYER, SELLER, 0, 0),
        lambda: postings.stock_sale(uuid.uuid4(), BUYER, SELLER, 100, -1),
        lambda: postings.consignment_sale(uuid.uuid4(), BUYER, COOP, UMKM, 100, 101, 0),
        lambda: postings.consignment_sale(uuid.uuid4(), BUYER, COOP, UMKM, 100, -1, 0),
        lambda: postings.payment_received(uuid.uuid4(), BUYER, 100, fee=101),
        lambda: postings.payment_received(uuid.uuid4(), BUYER, -5),
        lambda: postings.refund(uuid.uuid4(), BUYER, 0),
        lambda: postings.refund_paid(uuid.uuid4(), BUYER, -1),
        lambda: postings.levy(uuid.uuid4(), TRADE, SELLER, 0),
        lambda: postings.consignment_payout(uuid.uuid4(), COOP, UMKM, 0),
        lambda: postings.seller_payout(uuid.uuid4(), SELLER, 0),
        lambda: postings.government_invoice(uuid.uuid4(), CITY, SELLER, 100, 11, 101),
        lambda: postings.government_invoice(uuid.uuid4(), CITY, SELLER, 0, 0, 0),
    ],
)
def test_builders_refuse_bad_amounts(call: Callable[[], JournalTransaction]) -> None:
    with pytest.raises(InvalidPostingAmount) as excinfo:
        call()
    assert excinfo.value.code == "ledger.invalid_amount"


# Few organizations so the same ones meet in many roles, including buyer == seller.
orgs = st.sampled_from([uuid.UUID(int=n) for n in range(1, 5)])
ids = st.uuids()
principal = st.integers(min_value=1, max_value=10**12)
part = st.integers(min_value=0, max_value=10**12)


@st.composite
def money_events(draw: st.DrawFn) -> JournalTransaction:
    builder = draw(st.integers(min_value=0, max_value=9))
    amount = draw(principal)
    if builder == 0:
        commission = draw(st.integers(min_value=0, max_value=amount))
        return postings.consignment_sale(
            draw(ids), draw(orgs), draw(orgs), draw(orgs), amount, commission, draw(part)
        )
    if builder == 1:
        return postings.stock_sale(draw(ids), draw(orgs), draw(orgs), amount, draw(part))
    if builder == 2:
        return postings.consignment_payout(draw(ids), draw(orgs), draw(orgs), amount)
    if builder == 3:
        fee = draw(st.integers(min_value=0, max_value=amount))
        return postings.payment_received(draw(ids), draw(orgs), amount, fee=fee)
    if builder == 4:
        return postings.refund(draw(ids), draw(orgs), amount)
    if builder == 5:
        return postings.refund_paid(draw(ids), draw(orgs), amount)
    if builder == 6:
        return postings.levy(draw(ids), draw(orgs), draw(orgs), amount)
    if builder == 7:
        pph22 = draw(st.integers(min_value=0, max_value=amount))
        return postings.government_invoice(
            draw(ids), draw(orgs), draw(orgs), amount, draw(part), pph22
        )
    if builder == 8:
        return postings.seller_payout(draw(ids), draw(orgs), amount)
    return postings.reversal(postings.stock_sale(draw(ids), draw(orgs), draw(orgs), amount, 0))


@given(events=st.lists(money_events(), max_size=40))
def test_every_posting_balances_and_the_books_sum_to_zero(
    events: list[JournalTransaction],
) -> None:
    for event in events:
        validate_transaction(event)
        assert sum(entry.amount for entry in event.entries) == 0
        assert all(entry.amount != 0 for entry in event.entries)
        assert event.reference.startswith(f"{event.kind}:")
    assert sum(account_balances(events).values()) == 0


@given(event=money_events())
def test_a_posting_and_its_reversal_leave_nothing(event: JournalTransaction) -> None:
    balances = account_balances([event, postings.reversal(event)])
    assert all(balance == 0 for balance in balances.values())
