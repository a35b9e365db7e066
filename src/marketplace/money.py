"""Money is whole rupiah held in a Python ``int``; never a float.

Rupiah has no minor unit in practice, so every amount in the system is an integer and
every rate is integer basis points. Rounding is always explicit and happens in the
function that needs it; conversion to a payment provider's units happens at its edge.
"""

from __future__ import annotations

from collections.abc import Sequence

Rupiah = int
"""Whole rupiah. An alias so signatures say what an ``int`` means."""

BASIS_POINTS_PER_UNIT = 10_000
STRIPE_MINOR_UNITS_PER_RUPIAH = 100
"""Stripe treats IDR as a two-decimal currency: Rp10,000 is sent as ``1_000_000``."""


def _require_int(name: str, value: object) -> int:
    # bool is an int subclass, and a float slipping in would silently break exactness.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def apply_basis_points(amount: Rupiah, bps: int) -> Rupiah:
    """``amount * bps / 10_000`` rounded down (towards negative infinity).

    >>> apply_basis_points(10_000_000, 150)
    150000
    """
    _require_int("amount", amount)
    _require_int("bps", bps)
    if bps < 0:
        raise ValueError(f"basis points must not be negative, got {bps}")
    return amount * bps // BASIS_POINTS_PER_UNIT


def to_stripe_minor_units(rupiah: Rupiah) -> int:
    """Rupiah to the amount Stripe expects for IDR (hundredths of a rupiah)."""
    return _require_int("rupiah", rupiah) * STRIPE_MINOR_UNITS_PER_RUPIAH


def from_stripe_minor_units(minor_units: int) -> Rupiah:
    """Stripe's IDR amount back to rupiah; refuses fractions of a rupiah.

    A fractional amount can only come from a bug or a foreign payload, and truncating it
    would make the ledger disagree with the provider.
    """
    whole, fraction = divmod(
        _require_int("minor_units", minor_units), STRIPE_MINOR_UNITS_PER_RUPIAH
    )
    if fraction:
        raise ValueError(f"{minor_units} Stripe minor units is not a whole number of rupiah")
    return whole


def format_rupiah(amount: Rupiah) -> str:
    """Indonesian display form with a dot between thousands: ``Rp12.500``, ``-Rp500``."""
    _require_int("amount", amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")


def allocate_proportionally(total: Rupiah, weights: Sequence[int]) -> list[Rupiah]:
    """Split ``total`` into integer shares proportional to ``weights`` that sum exactly.

    Largest-remainder method: everyone gets the floor of their exact quota, and the few
    rupiah left over go one each to the largest fractional remainders, the lower index
    winning a tie so the result is deterministic. A zero weight always gets zero. A
    negative total is split like its absolute value and negated, so refunds mirror
    charges.
    """
    _require_int("total", total)
    if not weights:
        raise ValueError("cannot allocate over no weights")
    for weight in weights:
        if _require_int("weight", weight) < 0:
            raise ValueError(f"weights must not be negative, got {weight}")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("cannot allocate over weights that are all zero")

    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    shares = [magnitude * weight // weight_sum for weight in weights]
    remainders = [magnitude * weight % weight_sum for weight in weights]
    leftover = magnitude - sum(shares)
    by_largest_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in by_largest_remainder[:leftover]:
        shares[index] += 1
    return [sign * share for share in shares]
