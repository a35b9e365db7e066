from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.consignment.domain.settlement import (
    Adjustment,
    DuplicateSettlementRecord,
    ForeignSettlementRecord,
    InvalidCommission,
    InvalidSettlementRecord,
    ReturnRecord,
    SaleRecord,
    Statement,
    build_statement,
    commission_for,
)

WIB = timezone(timedelta(hours=7))
CUTOFF = datetime(2025, 11, 10, 0, 0, tzinfo=WIB)
CONSIGNOR = uuid.UUID(int=1)
OTHER = uuid.UUID(int=2)


def sale(n: int, gross: int, bps: int = 1_500, *, hours_before: int = 1) -> SaleRecord:
    return SaleRecord(
        sale_id=uuid.UUID(int=100 + n),
        consignor_id=CONSIGNOR,
        gross_amount=gross,
        commission_amount=commission_for(gross, bps),
        sold_at=CUTOFF - timedelta(hours=hours_before),
    )


def returned(n: int, quantity: int, *, hours_before: int = 1) -> ReturnRecord:
    return ReturnRecord(
        return_id=uuid.UUID(int=200 + n),
        consignor_id=CONSIGNOR,
        quantity=quantity,
        returned_at=CUTOFF - timedelta(hours=hours_before),
        reason="expired",
    )


def adjustment(n: int, amount: int) -> Adjustment:
    return Adjustment(adjustment_id=uuid.UUID(int=300 + n), amount=amount, reason="correction")


def statement(
    opening: int = 0,
    sales: list[SaleRecord] | None = None,
    returns: list[ReturnRecord] | None = None,
    adjustments: list[Adjustment] | None = None,
    *,
    minimum_payout: int = 0,
) -> Statement:
    return build_statement(
        CONSIGNOR,
        opening,
        sales or [],
        returns or [],
        adjustments or [],
        CUTOFF,
        minimum_payout=minimum_payout,
    )


@pytest.mark.parametrize(
    ("gross", "bps", "expected"),
    [
        (100_000, 1_500, 15_000),
        (12_345, 1_000, 1_234),  # 1,234.5 rounds down, in the consignor's favour
        (99, 1_500, 14),  # 14.85 → 14
        (1, 9_999, 0),
        (0, 1_500, 0),
        (10_000, 0, 0),
        (10_000, 10_000, 10_000),
    ],
)
def test_commission_rounds_down(gross: int, bps: int, expected: int) -> None:
    assert commission_for(gross, bps) == expected


@pytest.mark.parametrize(("gross", "bps"), [(-1, 1_000), (100, -1), (100, 10_001)])
def test_commission_refuses_bad_input(gross: int, bps: int) -> None:
    with pytest.raises(InvalidCommission) as excinfo:
        commission_for(gross, bps)
    assert excinfo.value.code == "consignment.invalid_commission"


@given(gross=st.integers(0, 10**12), bps=st.integers(0, 10_000))
def test_commission_never_exceeds_the_agreed_rate(gross: int, bps: int) -> None:
    commission = commission_for(gross, bps)
    assert 0 <= commission <= gross
    assert commission * 10_000 <= gross * bps < (commission + 1) * 10_000


def test_plain_statement_pays_out_net_sales() -> None:
    result = statement(sales=[sale(1, 100_000), sale(2, 50_000)])
    assert result.gross_sales == 150_000
    assert result.commission == 22_500
    assert result.net_sales == 127_500
    assert result.sales_count == 2
    assert result.payout_due == 127_500
    assert result.closing_balance == 0
    assert result.sale_ids == (uuid.UUID(int=101), uuid.UUID(int=102))


def test_stored_commission_is_used_not_recomputed() -> None:
    # Sold under an old 10% agreement; the statement must not re-price it.
    old_rate_sale = sale(1, 10_000, bps=1_000)
    assert statement(sales=[old_rate_sale]).commission == 1_000


def test_returns_are_listed_but_pay_nothing() -> None:
    result = statement(sales=[sale(1, 10_000)], returns=[returned(1, 3), returned(2, 2)])
    assert result.returns_count == 2
    assert result.returns_quantity == 5
    assert result.return_ids == (uuid.UUID(int=201), uuid.UUID(int=202))
    assert result.payout_due == statement(sales=[sale(1, 10_000)]).payout_due


def test_negative_balance_carries_over_instead_of_paying() -> None:
    result = statement(sales=[sale(1, 10_000)], adjustments=[adjustment(1, -20_000)])
    assert result.adjustments_total == -20_000
    assert result.payout_due == 0
    assert result.closing_balance == 8_500 - 20_000


def test_carried_debt_is_recovered_from_next_sales() -> None:
    result = statement(opening=-11_500, sales=[sale(1, 20_000)])
    assert result.payout_due == 17_000 - 11_500
    assert result.closing_balance == 0


def test_positive_opening_balance_is_paid_with_no_new_sales() -> None:
    result = statement(opening=4_000, minimum_payout=0)
    assert result.payout_due == 4_000
    assert result.closing_balance == 0


def test_small_balances_wait_for_the_minimum_payout() -> None:
    below = statement(sales=[sale(1, 5_000)], minimum_payout=10_000)
    assert below.payout_due == 0
    assert below.closing_balance == 4_250
    reached = statement(
        opening=below.closing_balance, sales=[sale(2, 7_000)], minimum_payout=10_000
    )
    assert reached.payout_due == 4_250 + 5_950
    assert reached.closing_balance == 0


def test_cutoff_is_exclusive_and_later_records_wait() -> None:
    on_boundary = SaleRecord(
        sale_id=uuid.UUID(int=999),
        consignor_id=CONSIGNOR,
        gross_amount=1_000,
        commission_amount=100,
        sold_at=CUTOFF,
    )
    late_return = returned(9, 1, hours_before=-1)
    result = statement(sales=[sale(1, 10_000), on_boundary], returns=[late_return])
    assert result.sale_ids == (uuid.UUID(int=101),)
    assert result.returns_count == 0
    assert result.gross_sales == 10_000


def test_sales_are_listed_chronologically() -> None:
    result = statement(sales=[sale(1, 100, hours_before=1), sale(2, 100, hours_before=5)])
    assert result.sale_ids == (uuid.UUID(int=102), uuid.UUID(int=101))


def test_empty_statement() -> None:
    result = statement()
    assert (result.payout_due, result.closing_balance, result.sale_ids) == (0, 0, ())


def test_records_of_another_consignor_are_refused() -> None:
    foreign = SaleRecord(
        sale_id=uuid.UUID(int=5),
        consignor_id=OTHER,
        gross_amount=1_000,
        commission_amount=0,
        sold_at=CUTOFF - timedelta(hours=1),
    )
    with pytest.raises(ForeignSettlementRecord) as excinfo:
        statement(sales=[foreign])
    assert excinfo.value.code == "consignment.foreign_record"


def test_duplicates_are_refused() -> None:
    with pytest.raises(DuplicateSettlementRecord):
        statement(sales=[sale(1, 100), sale(1, 100)])
    with pytest.raises(DuplicateSettlementRecord):
        statement(returns=[returned(1, 1), returned(1, 1)])
    with pytest.raises(DuplicateSettlementRecord):
        statement(adjustments=[adjustment(1, 5), adjustment(1, 5)])


@pytest.mark.parametrize(
    ("gross", "commission"), [(-1, 0), (100, -1), (100, 101)], ids=["gross", "neg", "over"]
)
def test_invalid_sales_are_refused(gross: int, commission: int) -> None:
    bad = SaleRecord(
        sale_id=uuid.UUID(int=5),
        consignor_id=CONSIGNOR,
        gross_amount=gross,
        commission_amount=commission,
        sold_at=CUTOFF - timedelta(hours=1),
    )
    with pytest.raises(InvalidSettlementRecord):
        statement(sales=[bad])


def test_other_invalid_input_is_refused() -> None:
    with pytest.raises(InvalidSettlementRecord):
        statement(returns=[returned(1, 0)])
    with pytest.raises(InvalidSettlementRecord):
        statement(adjustments=[adjustment(1, 0)])
    with pytest.raises(InvalidSettlementRecord):
        statement(adjustments=[Adjustment(adjustment_id=uuid.UUID(int=1), amount=5, reason=" ")])
    with pytest.raises(InvalidSettlementRecord):
        statement(minimum_payout=-1)
    with pytest.raises(InvalidSettlementRecord):
        build_statement(CONSIGNOR, 0, [], [], [], datetime(2025, 11, 10))


@st.composite
def sale_records(draw: st.DrawFn) -> list[SaleRecord]:
    numbers = draw(st.lists(st.integers(1, 10_000), unique=True, max_size=20))
    return [
        sale(
            n,
            draw(st.integers(0, 50_000_000)),
            draw(st.integers(0, 10_000)),
            hours_before=draw(st.integers(-48, 240)),
        )
        for n in numbers
    ]


@st.composite
def adjustment_lists(draw: st.DrawFn) -> list[Adjustment]:
    numbers = draw(st.lists(st.integers(1, 1_000), unique=True, max_size=5))
    amounts = st.integers(-10_000_000, 10_000_000).filter(bool)
    return [adjustment(n, draw(amounts)) for n in numbers]


@given(
    opening=st.integers(-50_000_000, 50_000_000),
    sales=sale_records(),
    adjustments=adjustment_lists(),
    minimum=st.integers(0, 100_000),
)
def test_statement_totals_are_exact(
    opening: int, sales: list[SaleRecord], adjustments: list[Adjustment], minimum: int
) -> None:
    result = statement(opening, sales, adjustments=adjustments, minimum_payout=minimum)
    included = [s for s in sales if s.sold_at < CUTOFF]
    assert sorted(result.sale_ids) == sorted(s.sale_id for s in included)
    assert result.gross_sales == sum(s.gross_amount for s in included)
    assert result.commission == sum(s.commission_amount for s in included)
    assert result.net_sales == result.gross_sales - result.commission
    assert result.adjustments_total == sum(a.amount for a in adjustments)
    assert (
        result.opening_balance + result.net_sales + result.adjustments_total
        == result.payout_due + result.closing_balance
    )
    assert result.payout_due >= 0
    if result.payout_due:
        assert result.closing_balance == 0
        assert result.payout_due >= minimum
    else:
        assert result.closing_balance <= 0 or result.closing_balance < minimum
    if minimum == 0:
        assert result.closing_balance <= 0


@given(sales=sale_records(), data=st.data())
def test_splitting_a_period_settles_every_sale_once(
    sales: list[SaleRecord], data: st.DataObject
) -> None:
    middle = CUTOFF - timedelta(hours=data.draw(st.integers(0, 240)))
    first = build_statement(CONSIGNOR, 0, sales, [], [], middle)
    remaining = [s for s in sales if s.sale_id not in set(first.sale_ids)]
    second = build_statement(CONSIGNOR, first.closing_balance, remaining, [], [], CUTOFF)
    whole = build_statement(CONSIGNOR, 0, sales, [], [], CUTOFF)
    assert set(first.sale_ids).isdisjoint(second.sale_ids)
    assert set(first.sale_ids) | set(second.sale_ids) == set(whole.sale_ids)
    assert first.payout_due + second.payout_due == whole.payout_due
    assert second.closing_balance == whole.closing_balance
