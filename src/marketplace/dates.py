"""The dates and instants a request may carry: one bounded type each, checked at the edge.

Python dates run from year 1 to 9999, so a start date of 9999-12-31 plus ten operating
days, or 0001-01-01T00:00:00+14:00 turned into UTC for PostgreSQL, overflows deep inside a
use case. No record of this marketplace predates the programmes it serves or runs past
this century, so every date and instant a client sends is held to 2000-01-01..2100-12-31
(an instant by its UTC moment) before any use case sees it: arithmetic of a few years
either side can't overflow. The bounds are not business figures (those are settings);
they only keep values where date arithmetic is safe.

- Request Structs holding dates subclass `BoundedDates` and type those fields as
  `BusinessDate` / `Instant` (`tests/test_request_dates.py` walks every request schema and
  parameter so a new field can't forget).
- Query parameters are checked by the HTTP edge with `out_of_range`
  (`marketplace.request_edge`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
_EARLIEST_INSTANT = dt.datetime.combine(EARLIEST_DATE, dt.time(), dt.UTC)
_END_INSTANT = dt.datetime.combine(LATEST_DATE + dt.timedelta(days=1), dt.time(), dt.UTC)
RANGE_TEXT = f"{EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}"
INSTANT_TEXT = f"timezone-aware, its UTC moment from {RANGE_TEXT}"

# `extra` marks the two types so the schema walk can tell them from a raw date.
BOUNDED_MARK = {"bounded_time": True}

BusinessDate = Annotated[
    dt.date, msgspec.Meta(description=f"A date from {RANGE_TEXT}", extra=BOUNDED_MARK)
]
Instant = Annotated[
    dt.datetime,
    msgspec.Meta(
        tz=True,
        description=f"A date-time, {INSTANT_TEXT}",
        extra=BOUNDED_MARK,
    ),
]


def out_of_range(value: dt.date) -> str | None:
    """Why `value` can't be accepted, or None. An aware instant is judged by its UTC moment
    (comparing aware date-times never converts them, so this itself can't overflow)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            within = EARLIEST_DATE <= value.date() <= LATEST_DATE
        else:
            within = _EARLIEST_INSTANT <= value < _END_INSTANT
    else:
        within = EARLIEST_DATE <= value <= LATEST_DATE
    return None if within else f"must be from {RANGE_TEXT}, not {value.isoformat()}"


class BoundedDates(msgspec.Struct):
    """Base of every request Struct with a date or date-time field: decoding (and building
    one in code) refuses any of them outside the range. msgspec turns the ValueError into a
    `ValidationError` naming the Struct's path, so the API answers 400."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, dt.date) and (reason := out_of_range(value)):
                raise ValueError(f"`{name}` {reason}")
