from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.procurement.lots.domain.aggregation import (
    DemandLine,
    DuplicateDemandLine,
    InvalidLotUnit,
    InvalidQuantity,
    LotKey,
    LotOrder,
    NaiveDatetime,
    allocate_receipt,
    lot_order_quantity,
    should_close,
)

WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2025, 11, 3, 8, 0, tzinfo=WIB)


def line(n: int, quantity: int, minutes: int, *, order: int | None = None) -> DemandLine:
    return DemandLine(
        leg_id=uuid.UUID(int=n),
        order_id=uuid.UUID(int=1000 + (order if order is not None else n)),
        ordered_at=MONDAY + timedelta(minutes=minutes),
        quantity=quantity,
    )


def test_lot_key_is_hashable_and_compares_by_value() -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    a = LotKey(cooperative_id=ids[0], product_id=ids[1], bulog_branch_id=ids[2])
    b = LotKey(cooperative_id=ids[0], product_id=ids[1], bulog_branch_id=ids[2])
    assert a == b
    assert len({a, b}) == 1


@pytest.mark.parametrize(
    ("demand", "unit", "expected"),
    [
        (0, 200, LotOrder(order_quantity=0, surplus=0)),
        (1, 200, LotOrder(order_quantity=200, surplus=199)),
        (200, 200, LotOrder(order_quantity=200, surplus=0)),
        (201, 200, LotOrder(order_quantity=400, surplus=199)),
        (450, 200, LotOrder(order_quantity=600, surplus=150)),
        (7, 1, LotOrder(order_quantity=7, surplus=0)),
    ],
)
def test_lot_order_rounds_up_to_whole_units(demand: int, unit: int, expected: LotOrder) -> None:
    assert lot_order_quantity(demand, unit) == expected


@pytest.mark.parametrize("unit", [0, -200])
def test_lot_unit_must_be_positive(unit: int) -> None:
    with pytest.raises(InvalidLotUnit) as excinfo:
        lot_order_quantity(10, unit)
    assert excinfo.value.code == "procurement.invalid_lot_unit"


def test_negative_demand_is_refused() -> None:
    with pytest.raises(InvalidQuantity):
        lot_order_quantity(-1, 200)


@given(demand=st.integers(min_value=0, max_value=10**9), unit=st.integers(1, 10**6))
def test_lot_order_is_the_smallest_multiple_covering_demand(demand: int, unit: int) -> None:
    result = lot_order_quantity(demand, unit)
    assert result.order_quantity % unit == 0
    assert result.order_quantity - result.surplus == demand
    assert 0 <= result.surplus < unit


def test_should_close_when_full() -> None:
    cutoff = MONDAY + timedelta(days=2)
    assert should_close(400, 400, cutoff, MONDAY) is True
    assert should_close(401, 400, cutoff, MONDAY) is True
    assert should_close(399, 400, cutoff, MONDAY) is False


def test_should_close_at_or_after_cutoff() -> None:
    assert should_close(1, 400, MONDAY, MONDAY) is True
    assert should_close(1, 400, MONDAY, MONDAY + timedelta(seconds=1)) is True
    assert should_close(0, 400, MONDAY, MONDAY + timedelta(days=1)) is True
    assert should_close(1, 400, MONDAY, MONDAY - timedelta(seconds=1)) is False


def test_should_close_compares_instants_across_time_zones() -> None:
    cutoff = datetime(2025, 11, 3, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta
    assert should_close(0, 10, cutoff, MONDAY) is True
    assert should_close(0, 10, cutoff, MONDAY - timedelta(minutes=1)) is False


def test_should_close_refuses_naive_times() -> None:
    with pytest.raises(NaiveDatetime) as excinfo:
        should_close(0, 10, datetime(2025, 11, 3), MONDAY)
    assert excinfo.value.extra == {"field": "cutoff"}


def test_should_close_refuses_bad_sizes() -> None:
    with pytest.raises(InvalidLotUnit):
        should_close(0, 0, MONDAY, MONDAY)
    with pytest.raises(InvalidQuantity):
        should_close(-1, 10, MONDAY, MONDAY)


def test_short_receipt_fills_oldest_orders_first_and_in_full() -> None:
    lines = [line(3, 50, minutes=30), line(1, 100, minutes=0), line(2, 80, minutes=10)]
    result = allocate_receipt(lines, 160)
    assert [(r.leg_id.int, r.released, r.unfilled) for r in result.releases] == [
        (1, 100, 0),
        (2, 60, 20),
        (3, 0, 50),
    ]
    assert result.surplus == 0
    assert result.released_total == 160
    assert result.unfilled_total == 70


def test_full_receipt_with_rounding_surplus() -> None:
    lines = [line(1, 120, minutes=0), line(2, 30, minutes=5)]
    ordered = lot_order_quantity(150, 200)
    result = allocate_receipt(lines, ordered.order_quantity)
    assert [r.released for r in result.releases] == [120, 30]
    assert result.surplus == ordered.surplus == 50


def test_ties_on_time_are_broken_by_leg_id() -> None:
    lines = [line(9, 10, minutes=0), line(4, 10, minutes=0)]
    result = allocate_receipt(lines, 10)
    assert [(r.leg_id.int, r.released) for r in result.releases] == [(4, 10), (9, 0)]


def test_two_legs_of_one_order_are_kept_apart() -> None:
    lines = [line(1, 10, minutes=0, order=7), line(2, 10, minutes=0, order=7)]
    result = allocate_receipt(lines, 15)
    assert [(r.order_id.int, r.released) for r in result.releases] == [(1007, 10), (1007, 5)]


def test_nothing_received_leaves_everything_unfilled() -> None:
    result = allocate_receipt([line(1, 10, minutes=0)], 0)
    assert result.releases[0].unfilled == 10
    assert result.surplus == 0


def test_receipt_without_demand_is_all_surplus() -> None:
    result = allocate_receipt([], 200)
    assert result.releases == ()
    assert result.surplus == 200


def test_receipt_refuses_bad_input() -> None:
    with pytest.raises(InvalidQuantity):
        allocate_receipt([line(1, 10, minutes=0)], -1)
    with pytest.raises(InvalidQuantity):
        allocate_receipt([line(1, 0, minutes=0)], 5)
    with pytest.raises(DuplicateDemandLine):
        allocate_receipt([line(1, 5, minutes=0), line(1, 5, minutes=1)], 5)
    naive = DemandLine(
        leg_id=uuid.UUID(int=1),
        order_id=uuid.UUID(int=2),
        ordered_at=datetime(2025, 11, 3),
        quantity=1,
    )
    with pytest.raises(NaiveDatetime):
        allocate_receipt([naive], 1)


@st.composite
def demand_lines(draw: st.DrawFn) -> list[DemandLine]:
    count = draw(st.integers(min_value=0, max_value=15))
    leg_numbers = draw(
        st.lists(st.integers(1, 10_000), min_size=count, max_size=count, unique=True)
    )
    return [
        line(
            n,
            draw(st.integers(min_value=1, max_value=500)),
            minutes=draw(st.integers(min_value=0, max_value=5)),  # small range: many ties
        )
        for n in leg_numbers
    ]


@given(lines=demand_lines(), received=st.integers(min_value=0, max_value=8_000))
def test_receipt_conserves_every_unit(lines: list[DemandLine], received: int) -> None:
    result = allocate_receipt(lines, received)
    by_leg = {r.leg_id: r for r in result.releases}
    assert len(by_leg) == len(lines)
    for demand in lines:
        release = by_leg[demand.leg_id]
        assert release.demanded == demand.quantity
        assert release.released + release.unfilled == demand.quantity
        assert release.released >= 0
        assert release.unfilled >= 0
    assert result.released_total + result.surplus == received
    assert result.surplus == max(0, received - sum(d.quantity for d in lines))


@given(lines=demand_lines(), received=st.integers(min_value=0, max_value=8_000))
def test_receipt_serves_oldest_first(lines: list[DemandLine], received: int) -> None:
    result = allocate_receipt(lines, received)
    ordered_at = {demand.leg_id: demand.ordered_at for demand in lines}
    times = [ordered_at[release.leg_id] for release in result.releases]
    assert times == sorted(times)
    # Once a line is short, every younger line gets nothing; at most one line is partial.
    short_seen = False
    for release in result.releases:
        if short_seen:
            assert release.released == 0
        if release.unfilled:
            short_seen = True
    assert sum(1 for r in result.releases if 0 < r.released < r.demanded) <= 1
    if result.surplus:
        assert result.unfilled_total == 0


@given(lines=demand_lines(), received=st.integers(min_value=0, max_value=8_000), data=st.data())
def test_receipt_does_not_depend_on_input_order(
    lines: list[DemandLine], received: int, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(lines))
    assert allocate_receipt(shuffled, received) == allocate_receipt(lines, received)
