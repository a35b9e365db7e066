from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import (
    allocate_proportionally,
    apply_basis_points,
    format_rupiah,
    from_stripe_minor_units,
    to_stripe_minor_units,
)

amounts = st.integers(min_value=-(10**15), max_value=10**15)
weights_lists = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30).filter(
    any
)


@pytest.mark.parametrize(
    ("amount", "bps", "expected"),
    [
        (10_000_000, 150, 150_000),  # PPh 22 on Rp10 juta
        (2_000_001, 150, 30_000),  # 30,000.015 rounds down
        (12_500, 0, 0),
        (12_500, 10_000, 12_500),
        (99, 100, 0),  # 0.99 rounds down
        (1, 9_999, 0),
        (-101, 100, -2),  # floor, not truncation: -1.01 -> -2
    ],
)
def test_apply_basis_points_floors(amount: int, bps: int, expected: int) -> None:
    assert apply_basis_points(amount, bps) == expected


def test_apply_basis_points_refuses_negative_rates_and_floats() -> None:
    with pytest.raises(ValueError, match="negative"):
        apply_basis_points(1_000, -1)
    with pytest.raises(TypeError):
        apply_basis_points(1_000.0, 150)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        apply_basis_points(True, 150)


@given(amount=st.integers(min_value=0, max_value=10**15), bps=st.integers(0, 10_000))
def test_apply_basis_points_is_exact_floor(amount: int, bps: int) -> None:
    result = apply_basis_points(amount, bps)
    assert result <= Fraction(amount * bps, 10_000) < result + 1
    assert 0 <= result <= amount


def test_stripe_conversion_uses_two_decimals_for_idr() -> None:
    assert to_stripe_minor_units(10_000) == 1_000_000
    assert from_stripe_minor_units(1_000_000) == 10_000
    assert to_stripe_minor_units(0) == 0


def test_stripe_conversion_refuses_fractions_of_a_rupiah() -> None:
    with pytest.raises(ValueError, match="whole number of rupiah"):
        from_stripe_minor_units(1_000_050)


@given(amounts)
def test_stripe_conversion_round_trips(amount: int) -> None:
    assert from_stripe_minor_units(to_stripe_minor_units(amount)) == amount


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (0, "Rp0"),
        (500, "Rp500"),
        (12_500, "Rp12.500"),
        (1_000_000, "Rp1.000.000"),
        (2_000_001, "Rp2.000.001"),
        (-12_500, "-Rp12.500"),
    ],
)
def test_format_rupiah_uses_indonesian_thousands_dots(amount: int, expected: str) -> None:
    assert format_rupiah(amount) == expected


@given(amounts)
def test_format_rupiah_reads_back(amount: int) -> None:
    text = format_rupiah(amount)
    sign = -1 if text.startswith("-") else 1
    assert sign * int(text.removeprefix("-").removeprefix("Rp").replace(".", "")) == amount


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),  # the tie goes to the lowest index
        (10, [1, 0, 1], [5, 0, 5]),
        (7, [5], [7]),
        (0, [3, 4], [0, 0]),
        (1_000, [333, 333, 334], [333, 333, 334]),
        (5, [2, 2, 1], [2, 2, 1]),
        (2, [1, 1, 1], [1, 1, 0]),
        (-100, [1, 1, 1], [-34, -33, -33]),  # a refund mirrors the charge
        (101, [10, 30, 60], [10, 30, 61]),  # 10.1, 30.3, 60.6: the .6 gets the rupiah
    ],
)
def test_allocate_proportionally_examples(
    total: int, weights: list[int], expected: list[int]
) -> None:
    assert allocate_proportionally(total, weights) == expected


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1]])
def test_allocate_proportionally_refuses_bad_weights(weights: list[int]) -> None:
    with pytest.raises(ValueError, match="weights"):
        allocate_proportionally(100, weights)


@given(total=amounts, weights=weights_lists)
def test_allocation_sums_exactly_and_stays_within_a_rupiah_of_the_quota(
    total: int, weights: list[int]
) -> None:
    shares = allocate_proportionally(total, weights)
    assert sum(shares) == total
    weight_sum = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        quota = Fraction(total * weight, weight_sum)
        assert abs(share - quota) < 1
        if weight == 0:
            assert share == 0


@given(total=amounts, weights=weights_lists)
def test_allocation_is_deterministic(total: int, weights: list[int]) -> None:
    assert allocate_proportionally(total, weights) == allocate_proportionally(total, list(weights))
