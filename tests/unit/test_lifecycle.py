from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.errors import InvalidTransition
from marketplace.orders.domain.lifecycle import (
    CLOSED_ORDER_STATUSES,
    LEG_TRANSITIONS,
    LegEvent,
    LegStatus,
    OrderEvent,
    OrderHasNoLegs,
    OrderStatus,
    can_cancel_order,
    derive_order_status,
    next_leg_status,
    next_order_status,
    order_status_after_leg_change,
)

R, S, D, C = LegStatus.RESERVED, LegStatus.SHIPPED, LegStatus.DELIVERED, LegStatus.CANCELLED

EXPECTED_LEG_TRANSITIONS = {
    (R, LegEvent.SHIP): S,
    (S, LegEvent.DELIVER): D,
    (R, LegEvent.CANCEL): C,
}


@pytest.mark.parametrize(
    ("current", "event"), list(itertools.product(LegStatus, LegEvent)), ids=str
)
def test_every_leg_status_event_pair(current: LegStatus, event: LegEvent) -> None:
    expected = EXPECTED_LEG_TRANSITIONS.get((current, event))
    if expected is not None:
        assert next_leg_status(current, event) is expected
        return
    with pytest.raises(InvalidTransition) as excinfo:
        next_leg_status(current, event)
    assert excinfo.value.code == "state.invalid_transition"
    assert excinfo.value.status == 409
    assert excinfo.value.extra == {"from": current, "event": event}


def test_transition_table_is_exactly_the_legal_set() -> None:
    assert dict(LEG_TRANSITIONS) == EXPECTED_LEG_TRANSITIONS


@pytest.mark.parametrize(
    ("current", "event"), list(itertools.product(OrderStatus, OrderEvent)), ids=str
)
def test_every_order_status_event_pair(current: OrderStatus, event: OrderEvent) -> None:
    legal = {
        (OrderStatus.PLACED, OrderEvent.CONFIRM): OrderStatus.CONFIRMED,
        (OrderStatus.FULFILLED, OrderEvent.COMPLETE): OrderStatus.COMPLETED,
    }
    if (current, event) in legal:
        assert next_order_status(current, event) is legal[(current, event)]
        return
    with pytest.raises(InvalidTransition) as excinfo:
        next_order_status(current, event)
    assert excinfo.value.extra == {"from": current, "event": event}


def reference_order_status(legs: tuple[LegStatus, ...], confirmed: bool) -> OrderStatus:
    """The rule written as plainly as possible, to check the implementation against."""
    if all(leg == C for leg in legs):
        return OrderStatus.CANCELLED
    if all(leg in (D, C) for leg in legs):
        return OrderStatus.FULFILLED
    if any(leg in (S, D) for leg in legs):
        return OrderStatus.PARTIALLY_FULFILLED
    return OrderStatus.CONFIRMED if confirmed else OrderStatus.PLACED


ALL_LEG_COMBINATIONS = [
    legs
    for size in range(1, 4)
    for legs in itertools.combinations_with_replacement(LegStatus, size)
]


@pytest.mark.parametrize("legs", ALL_LEG_COMBINATIONS, ids=str)
@pytest.mark.parametrize("confirmed", [False, True])
def test_derive_matches_reference_for_every_combination(
    legs: tuple[LegStatus, ...], confirmed: bool
) -> None:
    assert derive_order_status(legs, confirmed=confirmed) is reference_order_status(legs, confirmed)


@pytest.mark.parametrize(
    ("legs", "expected"),
    [
        ((R,), OrderStatus.PLACED),
        ((R, C), OrderStatus.PLACED),
        ((C, C), OrderStatus.CANCELLED),
        ((S,), OrderStatus.PARTIALLY_FULFILLED),
        ((S, C), OrderStatus.PARTIALLY_FULFILLED),
        ((D, R), OrderStatus.PARTIALLY_FULFILLED),
        ((D, S), OrderStatus.PARTIALLY_FULFILLED),
        ((D,), OrderStatus.FULFILLED),
        ((D, C), OrderStatus.FULFILLED),
    ],
)
def test_derive_examples(legs: tuple[LegStatus, ...], expected: OrderStatus) -> None:
    assert derive_order_status(legs) is expected


def test_derive_never_returns_completed() -> None:
    for legs in ALL_LEG_COMBINATIONS:
        for confirmed in (False, True):
            assert derive_order_status(legs, confirmed=confirmed) is not OrderStatus.COMPLETED


def test_derive_refuses_an_order_without_legs() -> None:
    with pytest.raises(OrderHasNoLegs) as excinfo:
        derive_order_status([])
    assert excinfo.value.code == "orders.no_legs"


def test_derive_accepts_any_iterable() -> None:
    assert derive_order_status(iter([R, S])) is OrderStatus.PARTIALLY_FULFILLED


@pytest.mark.parametrize("legs", ALL_LEG_COMBINATIONS, ids=str)
def test_can_cancel_only_before_anything_ships(legs: tuple[LegStatus, ...]) -> None:
    expected = R in legs and S not in legs and D not in legs
    assert can_cancel_order(legs) is expected


def test_cannot_cancel_an_order_without_legs() -> None:
    assert can_cancel_order([]) is False


@pytest.mark.parametrize("closed", sorted(CLOSED_ORDER_STATUSES))
def test_closed_orders_refuse_leg_changes(closed: OrderStatus) -> None:
    with pytest.raises(InvalidTransition) as excinfo:
        order_status_after_leg_change(closed, [D])
    assert excinfo.value.extra == {"from": closed, "event": "leg_change"}


def test_leg_change_keeps_confirmation() -> None:
    assert order_status_after_leg_change(OrderStatus.PLACED, [R, C]) is OrderStatus.PLACED
    assert order_status_after_leg_change(OrderStatus.CONFIRMED, [R, C]) is OrderStatus.CONFIRMED
    assert order_status_after_leg_change(OrderStatus.CONFIRMED, [C, C]) is OrderStatus.CANCELLED
    assert (
        order_status_after_leg_change(OrderStatus.PARTIALLY_FULFILLED, [D, C])
        is OrderStatus.FULFILLED
    )


leg_lists = st.lists(st.sampled_from(LegStatus), min_size=1, max_size=8)


@given(legs=leg_lists, data=st.data())
def test_derive_ignores_leg_order(legs: list[LegStatus], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(legs))
    assert derive_order_status(shuffled) is derive_order_status(legs)


# How far along an order is; a legal leg change must never move it backwards.
PROGRESS = {
    OrderStatus.PLACED: 0,
    OrderStatus.CONFIRMED: 0,
    OrderStatus.PARTIALLY_FULFILLED: 1,
    OrderStatus.FULFILLED: 2,
    OrderStatus.CANCELLED: 2,
}


@given(
    legs=st.lists(st.just(R), min_size=1, max_size=6),
    moves=st.lists(
        st.tuples(st.integers(min_value=0, max_value=5), st.sampled_from(LegEvent)),
        max_size=30,
    ),
)
def test_walks_through_legal_transitions_only_move_forwards(
    legs: list[LegStatus], moves: list[tuple[int, LegEvent]]
) -> None:
    order = OrderStatus.PLACED
    anything_shipped = False
    for index, event in moves:
        position = index % len(legs)
        if (legs[position], event) not in LEG_TRANSITIONS:
            continue
        legs[position] = next_leg_status(legs[position], event)
        anything_shipped = anything_shipped or legs[position] in (S, D)
        if order in CLOSED_ORDER_STATUSES:
            break
        previous = order
        order = order_status_after_leg_change(order, legs)
        assert PROGRESS[order] >= PROGRESS[previous]
        assert can_cancel_order(legs) is (order in (OrderStatus.PLACED,) and R in legs)
        if anything_shipped:
            assert order is not OrderStatus.CANCELLED
