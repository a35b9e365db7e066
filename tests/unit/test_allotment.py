from __future__ import annotations

import math
import uuid
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from marketplace.procurement.contracts.domain.allotment import (
    Allotment,
    DuplicateSupplier,
    InsufficientCapacity,
    InvalidAllotment,
    InvalidCapacity,
    InvalidShortfall,
    InvalidVolume,
    SupplierCapacity,
    allot,
    reallot_shortfall,
)


def supplier(n: int) -> uuid.UUID:
    return uuid.UUID(int=n + 1)


def capacities(*values: int) -> list[SupplierCapacity]:
    return [SupplierCapacity(supplier_id=supplier(i), capacity=c) for i, c in enumerate(values)]


def quantities(allotments: tuple[Allotment, ...]) -> list[int]:
    return [a.quantity for a in allotments]


def test_proportional_split_without_remainder() -> None:
    assert quantities(allot(100, capacities(10, 30, 60))) == [10, 30, 60]
    assert quantities(allot(50, capacities(10, 30, 60))) == [5, 15, 30]


def test_largest_remainder_gets_the_leftover_unit() -> None:
    # Exact shares 3.33.., 3.33.., 3.33.. with one unit left: ties go to list order.
    assert quantities(allot(10, capacities(5, 5, 5))) == [4, 3, 3]
    # Exact shares ≈1.43, 2.86, 5.71 → floors 1, 2, 5; two units left go to .86 and .71.
    assert quantities(allot(10, capacities(10, 20, 40))) == [1, 3, 6]


def test_ties_follow_list_order_not_ids() -> None:
    reversed_ids = [
        SupplierCapacity(supplier_id=supplier(9), capacity=1),
        SupplierCapacity(supplier_id=supplier(1), capacity=1),
    ]
    result = allot(1, reversed_ids)
    assert result == (
        Allotment(supplier_id=supplier(9), quantity=1),
        Allotment(supplier_id=supplier(1), quantity=0),
    )


def test_volume_equal_to_total_capacity_fills_everyone() -> None:
    assert quantities(allot(17, capacities(3, 9, 5))) == [3, 9, 5]


def test_zero_volume_allots_nothing() -> None:
    assert quantities(allot(0, capacities(3, 4))) == [0, 0]
    assert allot(0, []) == ()


def test_insufficient_capacity_names_the_figures() -> None:
    with pytest.raises(InsufficientCapacity) as excinfo:
        allot(101, capacities(50, 50))
    error = excinfo.value
    assert error.code == "procurement.insufficient_capacity"
    assert error.status == 422
    assert error.extra == {"volume": 101, "total_capacity": 100, "shortfall": 1}


def test_no_suppliers_is_insufficient_for_any_volume() -> None:
    with pytest.raises(InsufficientCapacity):
        allot(1, [])


@pytest.mark.parametrize("bad", [0, -5])
def test_non_positive_capacity_is_invalid(bad: int) -> None:
    with pytest.raises(InvalidCapacity) as excinfo:
        allot(1, capacities(10, bad))
    assert excinfo.value.code == "procurement.invalid_capacity"
    assert excinfo.value.extra["capacity"] == bad


def test_negative_volume_is_invalid() -> None:
    with pytest.raises(InvalidVolume):
        allot(-1, capacities(10))


def test_duplicate_suppliers_are_refused() -> None:
    twice = [SupplierCapacity(supplier_id=supplier(0), capacity=5)] * 2
    with pytest.raises(DuplicateSupplier):
        allot(1, twice)


def test_shortfall_goes_down_the_list_then_wraps() -> None:
    caps = capacities(10, 10, 10, 10)
    allotments = allot(24, caps)  # [6, 6, 6, 6]
    result = reallot_shortfall(allotments, caps, supplier(2), 6)
    # Supplier 3 is next (spare 4), then wrap to 0 (spare 4, takes the remaining 2).
    assert quantities(result.allotments) == [8, 6, 0, 10]
    assert result.unplaced == 0
    assert result.capacities[2].capacity == 0
    assert result.capacities[:2] == tuple(caps[:2])


def test_unplaceable_shortfall_is_reported() -> None:
    caps = capacities(5, 5)
    result = reallot_shortfall(allot(9, caps), caps, supplier(0), 4)
    assert quantities(result.allotments) == [1, 5]
    assert result.unplaced == 3


def test_short_supplier_never_gets_its_own_shortfall_back() -> None:
    caps = capacities(10)
    result = reallot_shortfall(allot(8, caps), caps, supplier(0), 3)
    assert quantities(result.allotments) == [5]
    assert result.unplaced == 3
    assert result.capacities[0].capacity == 5


def test_chained_shortfalls_do_not_wrap_back_onto_an_earlier_short_supplier() -> None:
    caps = capacities(10, 10)
    first = reallot_shortfall(allot(10, caps), caps, supplier(0), 5)
    assert quantities(first.allotments) == [0, 10]
    second = reallot_shortfall(first.allotments, first.capacities, supplier(1), 2)
    assert quantities(second.allotments) == [0, 8]
    assert second.unplaced == 2


def test_missing_allotment_rows_count_as_zero() -> None:
    caps = capacities(4, 4)
    result = reallot_shortfall(
        [Allotment(supplier_id=supplier(0), quantity=4)], caps, supplier(0), 4
    )
    assert quantities(result.allotments) == [0, 4]


@pytest.mark.parametrize("shortfall", [0, -1, 7])
def test_shortfall_must_be_within_the_allotment(shortfall: int) -> None:
    caps = capacities(10, 10)
    with pytest.raises(InvalidShortfall) as excinfo:
        reallot_shortfall(allot(12, caps), caps, supplier(0), shortfall)
    assert excinfo.value.code == "procurement.invalid_shortfall"


def test_unknown_short_supplier_is_refused() -> None:
    caps = capacities(10)
    with pytest.raises(InvalidShortfall):
        reallot_shortfall(allot(5, caps), caps, supplier(42), 1)


def test_allotment_for_unlisted_supplier_is_refused() -> None:
    with pytest.raises(InvalidAllotment):
        reallot_shortfall(
            [Allotment(supplier_id=supplier(7), quantity=1)], capacities(5), supplier(0), 1
        )


def test_allotment_above_capacity_is_refused() -> None:
    with pytest.raises(InvalidAllotment):
        reallot_shortfall(
            [Allotment(supplier_id=supplier(0), quantity=6)], capacities(5), supplier(0), 1
        )


def test_negative_capacity_is_refused_when_reallotting() -> None:
    with pytest.raises(InvalidCapacity):
        reallot_shortfall(
            [Allotment(supplier_id=supplier(0), quantity=1)], capacities(5, -1), supplier(0), 1
        )


capacity_lists = st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=12)


@st.composite
def contracts(draw: st.DrawFn) -> tuple[int, list[SupplierCapacity]]:
    caps = draw(capacity_lists)
    volume = draw(st.integers(min_value=0, max_value=sum(caps)))
    return volume, capacities(*caps)


@given(contract=contracts())
def test_allot_is_exact_bounded_and_largest_remainder(
    contract: tuple[int, list[SupplierCapacity]],
) -> None:
    volume, caps = contract
    result = allot(volume, caps)
    assert [a.supplier_id for a in result] == [c.supplier_id for c in caps]
    assert sum(quantities(result)) == volume
    total = sum(c.capacity for c in caps)
    exact = [Fraction(volume * c.capacity, total) for c in caps]
    rounded_up = []
    for allotment, cap, share in zip(result, caps, exact, strict=True):
        assert 0 <= allotment.quantity <= cap.capacity
        assert allotment.quantity in (math.floor(share), math.ceil(share))
        rounded_up.append(allotment.quantity > share)
    # Nobody rounded down may have a larger remainder, or an equal one and an earlier place.
    remainders = [share - math.floor(share) for share in exact]
    for up_index, up in enumerate(rounded_up):
        if not up:
            continue
        for down_index, down in enumerate(rounded_up):
            if down or remainders[down_index] == 0:
                continue
            assert (remainders[up_index], -up_index) > (remainders[down_index], -down_index)


@given(contract=contracts())
def test_allot_is_deterministic(contract: tuple[int, list[SupplierCapacity]]) -> None:
    volume, caps = contract
    assert allot(volume, caps) == allot(volume, list(caps))


@given(caps=capacity_lists, extra=st.integers(min_value=1, max_value=1_000))
def test_allot_refuses_volume_above_capacity(caps: list[int], extra: int) -> None:
    with pytest.raises(InsufficientCapacity):
        allot(sum(caps) + extra, capacities(*caps))


@given(contract=contracts(), data=st.data())
def test_reallotment_conserves_units_and_respects_capacity(
    contract: tuple[int, list[SupplierCapacity]], data: st.DataObject
) -> None:
    volume, caps = contract
    before = allot(volume, caps)
    candidates = [i for i, a in enumerate(before) if a.quantity > 0]
    assume(candidates)
    short = data.draw(st.sampled_from(candidates))
    shortfall = data.draw(st.integers(min_value=1, max_value=before[short].quantity))

    result = reallot_shortfall(before, caps, caps[short].supplier_id, shortfall)
    after = quantities(result.allotments)

    assert sum(after) + result.unplaced == volume
    assert after[short] == before[short].quantity - shortfall
    assert result.capacities[short].capacity == after[short]
    for i, (old, new, cap) in enumerate(zip(before, after, caps, strict=True)):
        assert new <= cap.capacity
        if i != short:
            assert new >= old.quantity
    others = [i for i in range(len(caps)) if i != short]
    if result.unplaced:
        assert all(after[i] == caps[i].capacity for i in others)
    # Greedy down the list: once someone is left with spare, nobody after them gained.
    visiting_order = [(short + step) % len(caps) for step in range(1, len(caps))]
    gained = [after[i] - before[i].quantity for i in visiting_order]
    spare_left = [caps[i].capacity - after[i] for i in visiting_order]
    for k, spare in enumerate(spare_left):
        if spare > 0:
            assert all(g == 0 for g in gained[k + 1 :])
            break
    assert reallot_shortfall(before, caps, caps[short].supplier_id, shortfall) == result
