"""Kitchen budget envelopes (pure): MBG money is advanced per 10 operating days.

An envelope is operating days * sum(portions per day * rupiah per portion) over the
kitchen's age bands (Rp8,000 for toddlers and grades 1-3, Rp10,000 for grade 4+ and
mothers). Operating days are Monday to Saturday: the programme cooks six days a week.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import msgspec

from marketplace.errors import ValidationFailed

OPERATING_WEEKDAYS = frozenset({0, 1, 2, 3, 4, 5})  # Monday..Saturday
ALLOWED_RUPIAH_PER_PORTION = frozenset({8_000, 10_000})


class PortionBand(msgspec.Struct, frozen=True):
    portions_per_day: int
    rupiah_per_portion: int


class BudgetExceeded(ValidationFailed):
    code = "orders.budget_exceeded"
    title = "The order would exceed the kitchen's budget envelope"


class InvalidBudget(ValidationFailed):
    code = "orders.invalid_budget"


def period_end(start: dt.date, operating_days: int) -> dt.date:
    """The last operating day of a period of `operating_days` starting on or after `start`."""
    if operating_days < 1:
        raise InvalidBudget("A period needs at least one operating day.")
    day, counted = start, 0
    while True:
        if day.weekday() in OPERATING_WEEKDAYS:
            counted += 1
            if counted == operating_days:
                return day
        day += dt.timedelta(days=1)


def envelope(operating_days: int, bands: Sequence[PortionBand]) -> int:
    if not bands:
        raise InvalidBudget("A budget needs at least one portion band.")
    for band in bands:
        if band.rupiah_per_portion not in ALLOWED_RUPIAH_PER_PORTION:
            raise InvalidBudget(
                "Raw-material budget per portion is Rp8,000 or Rp10,000.",
                rupiah_per_portion=band.rupiah_per_portion,
            )
        if band.portions_per_day < 1:
            raise InvalidBudget("Portions per day must be positive.")
    return operating_days * sum(b.portions_per_day * b.rupiah_per_portion for b in bands)


def check_within_envelope(*, envelope: int, committed: int, order_total: int) -> None:
    remaining = envelope - committed
    if order_total > remaining:
        raise BudgetExceeded(
            f"This order costs Rp{order_total:,} but only Rp{remaining:,} of the period's "
            f"Rp{envelope:,} remains.".replace(",", "."),
            envelope=envelope,
            committed=committed,
            remaining=remaining,
            order_total=order_total,
            over_by=order_total - remaining,
        )


def overlapping(start: dt.date, end: dt.date, periods: Iterable[tuple[dt.date, dt.date]]) -> bool:
    return any(s <= end and start <= e for s, e in periods)
