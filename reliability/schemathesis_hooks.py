"""Schemathesis hooks: the hostile inputs of issue 13, mixed into the contract fuzzing.

Loaded through `hooks` in `reliability/schemathesis.toml`. Schemathesis draws dates from
years 1-9999 and strings at random, so it rarely sends the values that once answered 500;
these hooks make every run send them (each must be a 4xx problem):

- dates and date-times: mostly near today (so orders, budgets and contracts get past the
  edge), sometimes at or beyond the accepted range, with offsets up to +/-14:00 whose UTC
  conversion overflows;
- pagination cursors: forged ones (numbers beyond int64, 5,000 nested arrays, bad UTF-8,
  wrong shapes) on every list operation;
- time zones: real IANA names, region directories (`Asia`) and paths;
- bodies: two calls in eight of an operation with a body send 5,000 nested arrays or
  bytes that are not UTF-8 instead of the generated JSON.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
from collections import defaultdict
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.core import NotSet

TODAY = dt.date.today()
FAR_DATES = ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"]
FAR_INSTANTS = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2100-12-31T23:59:59-14:00",
    "1999-12-31T23:59:59Z",
]
OFFSETS = [dt.timedelta(hours=h) for h in (0, 7, 8, 9, 14, -14)]


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


HOSTILE_CURSORS = [
    _cursor(b'[1e30, "0190a4b2-7c1e-7d1a-9b8e-0a1b2c3d4e5f"]'),
    _cursor(f'[{2**63}, "0190a4b2-7c1e-7d1a-9b8e-0a1b2c3d4e5f"]'.encode()),
    _cursor(f'[{-(2**70)}, "0190a4b2-7c1e-7d1a-9b8e-0a1b2c3d4e5f"]'.encode()),
    _cursor(b"[" * 5000 + b"]" * 5000),
    _cursor(b'["\xff\xfe"]'),
    _cursor(b"{}"),
    "A" * 5000,
]
TIME_ZONES = ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]
HOSTILE_TIME_ZONES = ["Asia", "America", "../../../etc/passwd", "/etc/localtime"]
DEEP_BODY = b"[" * 5000 + b"]" * 5000
NOT_UTF8_BODY = b'{"name": "\xff\xfe"}'

near_dates = st.dates(TODAY - dt.timedelta(days=30), TODAY + dt.timedelta(days=120))
in_range_dates = st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31))
schemathesis.openapi.format(
    "date",
    st.one_of(near_dates, near_dates, in_range_dates).map(dt.date.isoformat)
    | st.sampled_from(FAR_DATES),
)
near_instants = st.datetimes(
    dt.datetime.combine(TODAY - dt.timedelta(days=30), dt.time()),
    dt.datetime.combine(TODAY + dt.timedelta(days=120), dt.time()),
    timezones=st.sampled_from([dt.timezone(offset) for offset in OFFSETS]),
)
schemathesis.openapi.format(
    "date-time",
    st.one_of(near_instants, near_instants).map(dt.datetime.isoformat)
    | st.sampled_from(FAR_INSTANTS),
)


def _has_query_parameter(context: Any, name: str) -> bool:
    operation = context.operation
    return operation is not None and any(p.name == name for p in operation.query)


@schemathesis.hook
def flatmap_query(context: Any, query: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    if not _has_query_parameter(context, "cursor"):
        return st.just(query)
    forged = st.sampled_from(HOSTILE_CURSORS).map(lambda c: {**(query or {}), "cursor": c})
    return st.just(query) | forged


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    if not (isinstance(body, dict) and "time_zone" in body):
        return st.just(body)
    zones = st.sampled_from(TIME_ZONES) | st.sampled_from(HOSTILE_TIME_ZONES)
    return zones.map(lambda zone: {**body, "time_zone": zone})


_calls: defaultdict[str, itertools.count[int]] = defaultdict(itertools.count)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Two calls in eight of an operation with a body send one the edge must refuse instead
    (the checks judge the answer: a 400 problem is a documented outcome)."""
    if isinstance(case.body, NotSet) or context.operation is None:
        return
    n = next(_calls[context.operation.label])
    if n % 8 == 3:
        kwargs["data"] = DEEP_BODY
    elif n % 8 == 7:
        kwargs["data"] = NOT_UTF8_BODY
