"""The edge's pure checks: date bounds, time zones, JSON nesting, cursor decoding."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
import zoneinfo

import msgspec
import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from marketplace.accounts.domain import time_zone_problem
from marketplace.dates import EARLIEST_DATE, LATEST_DATE, out_of_range
from marketplace.http import (
    ID_KEY,
    MAX_CURSOR_LENGTH,
    PRICE_KEY,
    InvalidCursor,
    decode_cursor,
    encode_cursor,
)
from marketplace.request_edge import _nesting_fits

offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
_SECONDS_AT_EARLIEST = (
    dt.datetime.combine(EARLIEST_DATE, dt.time()) - dt.datetime.min
).total_seconds()
_SECONDS_AFTER_LATEST = (
    dt.datetime.combine(LATEST_DATE + dt.timedelta(days=1), dt.time()) - dt.datetime.min
).total_seconds()


@given(st.dates())
@example(dt.date(1999, 12, 31))
@example(dt.date(2000, 1, 1))
@example(dt.date(2100, 12, 31))
@example(dt.date(2101, 1, 1))
def test_a_date_is_accepted_exactly_within_the_range(day: dt.date) -> None:
    assert (out_of_range(day) is None) == (EARLIEST_DATE <= day <= LATEST_DATE)


@given(st.datetimes(timezones=offsets))
@example(dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14))))
@example(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-14))))
@example(dt.datetime(2000, 1, 1, 6, 59, tzinfo=dt.timezone(dt.timedelta(hours=7))))
@example(dt.datetime(2000, 1, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))))
def test_an_instant_is_judged_by_its_utc_moment_without_overflowing(moment: dt.datetime) -> None:
    offset = moment.utcoffset()
    assert offset is not None
    # Seconds since 0001-01-01 UTC, computed without building the UTC datetime.
    utc_seconds = (moment.replace(tzinfo=None) - dt.datetime.min).total_seconds() - (
        offset.total_seconds()
    )
    within = _SECONDS_AT_EARLIEST <= utc_seconds < _SECONDS_AFTER_LATEST
    assert (out_of_range(moment) is None) == within
    if within:
        moment.astimezone(dt.UTC)  # what the database driver does: must not overflow


@pytest.mark.parametrize("zone", ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "UTC"])
def test_real_time_zones_are_accepted(zone: str) -> None:
    assert time_zone_problem(zone) is None


@given(st.text(max_size=40))
@example("Asia")
@example("America")
@example("../../etc/passwd")
@example("/etc/localtime")
@example("")
def test_any_other_text_is_refused_without_touching_the_file_system(value: str) -> None:
    problem = time_zone_problem(value)
    if problem is None:
        zoneinfo.ZoneInfo(value)  # what accepting it leads to, later
    else:
        assert "`time_zone`" in problem


def reference_depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((reference_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((reference_depth(v) for v in value.values()), default=0)
    return 0


tricky_text = st.text(alphabet='[]{}"\\ax', max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=40,
)


@hypothesis_settings(max_examples=500)
@given(json_values, st.integers(1, 12))
@example({"": []}, 1)
def test_nesting_is_measured_outside_strings(value: object, limit: int) -> None:
    body = msgspec.json.encode(value)
    assert _nesting_fits(body, limit) == (reference_depth(value) <= limit)


@pytest.mark.parametrize(
    "body", [b"[" * 40, b"]" * 40 + b"[" * 40, b"[{" * 20 + b"]}" * 20, b'["' + b"[" * 40]
)
def test_unbalanced_brackets_do_not_fit(body: bytes) -> None:
    assert not _nesting_fits(body, 32)


def base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@given(st.text(max_size=MAX_CURSOR_LENGTH + 20) | st.binary(max_size=90).map(base64url))
@example(base64url(b"[" * 5000))
@example(base64url(b'["\xff"]'))
def test_any_text_as_a_cursor_decodes_or_is_refused(cursor: str) -> None:
    for key in (ID_KEY, PRICE_KEY):
        try:
            decoded = decode_cursor(cursor, key)
        except InvalidCursor:
            continue
        assert decoded is None or isinstance(decoded, tuple)


@given(st.uuids(), st.integers(-(2**63), 2**63 - 1))
def test_issued_cursors_decode_to_their_key(listing_id: uuid.UUID, price: int) -> None:
    assert decode_cursor(encode_cursor([listing_id]), ID_KEY) == (listing_id,)
    assert decode_cursor(encode_cursor([price, listing_id]), PRICE_KEY) == (price, listing_id)


@pytest.mark.parametrize("price", [2**63, -(2**63) - 1, 10**30])
def test_a_price_beyond_int64_is_refused(price: int) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_cursor([price, uuid.uuid4()]), PRICE_KEY)
