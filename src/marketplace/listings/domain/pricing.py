"""Quantity price tiers: the more of a listing you take, the lower (or equal) the price.

A listing's tiers are sorted by ``min_quantity``, start at 1 so every quantity has a
price, and never get dearer as the quantity grows. The whole line is priced at the tier
its quantity reaches (all-units discount), not tier by tier.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from marketplace.errors import ValidationFailed
from marketplace.money import Rupiah


class PriceTier(msgspec.Struct, frozen=True):
    min_quantity: int
    """The smallest quantity (in the listing's sale unit) this price applies to."""
    unit_price: Rupiah
    """Pre-VAT price per sale unit."""


class InvalidPriceTiers(ValidationFailed):
    """``extra["reason"]`` says which rule broke; ``extra["tier_index"]`` where."""

    code = "listings.invalid_price_tiers"
    title = "The price tiers are not a valid price table"


def validate_tiers(tiers: Sequence[PriceTier]) -> tuple[PriceTier, ...]:
    """Check a price table and return it as a tuple; raise `InvalidPriceTiers` if broken."""
    if not tiers:
        raise InvalidPriceTiers("a listing needs at least one price tier", reason="no_tiers")
    if tiers[0].min_quantity != 1:
        raise InvalidPriceTiers(
            "the first price tier must start at quantity 1, so every quantity has a price",
            reason="first_tier_not_at_one",
            tier_index=0,
            min_quantity=tiers[0].min_quantity,
        )
    for index, tier in enumerate(tiers):
        if tier.unit_price <= 0:
            raise InvalidPriceTiers(
                f"tier {index + 1} has a price of {tier.unit_price}; prices must be positive",
                reason="price_not_positive",
                tier_index=index,
                unit_price=tier.unit_price,
            )
        if index == 0:
            continue
        previous = tiers[index - 1]
        if tier.min_quantity <= previous.min_quantity:
            raise InvalidPriceTiers(
                f"tier {index + 1} starts at {tier.min_quantity}, not above the previous "
                f"tier's {previous.min_quantity}",
                reason="minimums_not_increasing",
                tier_index=index,
                min_quantity=tier.min_quantity,
            )
        if tier.unit_price > previous.unit_price:
            raise InvalidPriceTiers(
                f"tier {index + 1} costs {tier.unit_price}, more than the smaller "
                f"quantity's {previous.unit_price}",
                reason="price_increases",
                tier_index=index,
                unit_price=tier.unit_price,
            )
    return tuple(tiers)


def unit_price_for(tiers: Sequence[PriceTier], quantity: int) -> Rupiah:
    """The price of the tier with the greatest ``min_quantity`` not above ``quantity``.

    Assumes ``tiers`` passed `validate_tiers` (this sits on the order-splitting hot path);
    a table that cannot price ``quantity`` still raises rather than guessing.
    """
    if quantity < 1:
        raise ValueError(f"quantity must be at least 1, got {quantity}")
    # Tables are a handful of rows, so a backward scan beats a bisect here.
    for tier in reversed(tiers):
        if tier.min_quantity <= quantity:
            return tier.unit_price
    raise InvalidPriceTiers(
        f"no price tier covers quantity {quantity}",
        reason="first_tier_not_at_one" if tiers else "no_tiers",
        quantity=quantity,
    )


def line_total(tiers: Sequence[PriceTier], quantity: int) -> Rupiah:
    """``quantity`` * the unit price its tier gives."""
    return quantity * unit_price_for(tiers, quantity)
