"""The clock of business rules: the current instant, and an organization's local date.

Every "today" of a business rule — the day a shipment leaves, the ISO week whose volume it
takes, whether goods have expired, whether a delivery date is past, when a settlement cycle
has elapsed — is the date on the wall of the organization whose rule it is, in its IANA
`time_zone` (Asia/Jakarta unless it says otherwise). Never the server's zone, never UTC's:
at 01:00 WIB on a Monday it is still Sunday in UTC, and the previous ISO week.

`now()` is the one seam for "the current instant" of those rules; tests move it with
`frozen_at`. Pure: reads the system clock, imports no I/O library.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Iterator

DEFAULT_TIME_ZONE = "Asia/Jakarta"
"""What an organization's `time_zone` is unless it chose another (WIB, UTC+7)."""


def _system_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_source: Callable[[], dt.datetime] = _system_now


def now() -> dt.datetime:
    """The current instant (timezone-aware, UTC)."""
    return _source()


@functools.lru_cache(maxsize=64)
def _zone(time_zone: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(time_zone)


def local_date(moment: dt.datetime, time_zone: str) -> dt.date:
    """The calendar date `moment` falls on in `time_zone`."""
    if moment.tzinfo is None:
        raise ValueError("a business date needs a timezone-aware moment")
    return moment.astimezone(_zone(time_zone)).date()


def today_in(time_zone: str) -> dt.date:
    """Today's date for an organization in `time_zone`."""
    return local_date(now(), time_zone)


@contextlib.contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Make `now()` answer `moment` inside the block (tests)."""
    global _source
    if moment.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware moment")
    previous = _source
    _source = lambda: moment  # noqa: E731
    try:
        yield
    finally:
        _source = previous
