from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.errors import ValidationFailed
from marketplace.listings.domain.pricing import (
    InvalidPriceTiers,
    PriceTier,
    line_total,
    unit_price_for,
    validate_tiers,
)

RICE_TIERS = (
    PriceTier(min_quantity=1, unit_price=62_500),
    PriceTier(min_quantity=10, unit_price=61_000),
    PriceTier(min_quantity=100, unit_price=59_500),
)


@st.composite
def valid_tiers(draw: st.DrawFn) -> tuple[PriceTier, ...]:
    """A valid table: starts at 1, minimums rising, prices never rising, all positive."""
    extra_minimums = draw(st.sets(st.integers(min_value=2, max_value=1_000), max_size=5))
    minimums = [1, *sorted(extra_minimums)]
    price = draw(st.integers(min_value=1, max_value=1_000_000))
    tiers = []
    for minimum in minimums:
        tiers.append(PriceTier(minimum, price))
        price = draw(st.integers(min_value=1, max_value=price))
    return tuple(tiers)


def brute_force_price(tiers: tuple[PriceTier, ...], quantity: int) -> int:
    eligible = [tier for tier in tiers if tier.min_quantity <= quantity]
    return max(eligible, key=lambda tier: tier.min_quantity).unit_price


def test_a_valid_table_is_returned_as_a_tuple() -> None:
    assert validate_tiers(list(RICE_TIERS)) == RICE_TIERS
    assert validate_tiers([PriceTier(1, 12_500)]) == (PriceTier(1, 12_500),)
    # Equal prices at a higher quantity are allowed: tiers must not get dearer.
    validate_tiers([PriceTier(1, 100), PriceTier(5, 100)])


@pytest.mark.parametrize(
    ("tiers", "reason", "tier_index"),
    [
        ([], "no_tiers", None),
        ([PriceTier(2, 100)], "first_tier_not_at_one", 0),
        ([PriceTier(0, 100)], "first_tier_not_at_one", 0),
        ([PriceTier(1, 100), PriceTier(1, 90)], "minimums_not_increasing", 1),
        ([PriceTier(1, 100), PriceTier(10, 90), PriceTier(5, 80)], "minimums_not_increasing", 2),
        ([PriceTier(1, 100), PriceTier(10, 110)], "price_increases", 1),
        ([PriceTier(1, 0)], "price_not_positive", 0),
        ([PriceTier(1, 100), PriceTier(10, -5)], "price_not_positive", 1),
    ],
)
def test_broken_tables_are_refused_with_a_stable_code(
    tiers: list[PriceTier], reason: str, tier_index: int | None
) -> None:
    with pytest.raises(InvalidPriceTiers) as raised:
        validate_tiers(tiers)
    error = raised.value
    assert isinstance(error, ValidationFailed)
    assert error.code == "listings.invalid_price_tiers"
    assert error.status == 422
    assert error.extra["reason"] == reason
    assert error.extra.get("tier_index") == tier_index


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(1, 62_500), (9, 62_500), (10, 61_000), (99, 61_000), (100, 59_500), (10_000, 59_500)],
)
def test_unit_price_is_the_tier_the_quantity_reaches(quantity: int, expected: int) -> None:
    assert unit_price_for(RICE_TIERS, quantity) == expected


def test_the_whole_line_is_priced_at_its_tier() -> None:
    assert line_total(RICE_TIERS, 9) == 9 * 62_500
    assert line_total(RICE_TIERS, 10) == 610_000


def test_pricing_refuses_quantities_below_one_and_empty_tables() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        unit_price_for(RICE_TIERS, 0)
    with pytest.raises(InvalidPriceTiers):
        unit_price_for((), 5)
    with pytest.raises(InvalidPriceTiers):
        unit_price_for((PriceTier(5, 100),), 3)


@given(tiers=valid_tiers())
def test_generated_tables_validate(tiers: tuple[PriceTier, ...]) -> None:
    assert validate_tiers(tiers) == tiers


@given(tiers=valid_tiers(), quantity=st.integers(min_value=1, max_value=2_000))
def test_unit_price_matches_a_brute_force_read_of_the_table(
    tiers: tuple[PriceTier, ...], quantity: int
) -> None:
    assert unit_price_for(tiers, quantity) == brute_force_price(tiers, quantity)


@given(
    tiers=valid_tiers(),
    quantity=st.integers(min_value=1, max_value=2_000),
    more=st.integers(min_value=0, max_value=2_000),
)
def test_unit_price_never_rises_with_quantity(
    tiers: tuple[PriceTier, ...], quantity: int, more: int
) -> None:
    assert unit_price_for(tiers, quantity + more) <= unit_price_for(tiers, quantity)


@given(tiers=valid_tiers(), quantity=st.integers(min_value=1, max_value=2_000))
def test_line_total_is_quantity_times_unit_price(
    tiers: tuple[PriceTier, ...], quantity: int
) -> None:
    assert line_total(tiers, quantity) == quantity * unit_price_for(tiers, quantity)
