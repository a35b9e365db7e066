"""Every date a request can carry is a bounded one (`marketplace.dates`), so none can
forget: the request schemas of every route are walked, and every date query parameter is
sent a value out of range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi
from litestar import Litestar
from litestar.testing import AsyncTestClient

from marketplace.dates import BOUNDED_MARK, BoundedDates, BusinessDate, Instant
from tests.support import Actors, assert_problem

# Marked as bounded but naive: an instant must carry its offset.
NaiveInstant = Annotated[dt.datetime, msgspec.Meta(extra=BOUNDED_MARK)]


def unbounded_dates(t: mi.Type, where: str, owner: type | None = None) -> Iterator[str]:
    """Date and date-time fields in `t` that are not a `BusinessDate`/`Instant` of a
    `BoundedDates` Struct, as `Struct.field` paths."""
    marked = isinstance(t, mi.Metadata) and (t.extra or {}).items() >= BOUNDED_MARK.items()
    inner = t.type if isinstance(t, mi.Metadata) else t
    if isinstance(inner, mi.DateType | mi.DateTimeType):
        aware = not isinstance(inner, mi.DateTimeType) or inner.tz is True
        if not (marked and aware and owner is not None and issubclass(owner, BoundedDates)):
            yield where
        return
    if isinstance(inner, mi.StructType):
        for field in inner.fields:
            yield from unbounded_dates(field.type, f"{inner.cls.__name__}.{field.name}", inner.cls)
        return
    for child in _children(inner):
        yield from unbounded_dates(child, where, owner)


def _children(t: mi.Type) -> list[mi.Type]:
    if isinstance(t, mi.UnionType):
        return list(t.types)
    if isinstance(t, mi.TupleType):
        return list(t.item_types)
    if isinstance(t, mi.DictType):
        return [t.key_type, t.value_type]
    if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return [t.item_type]
    return []


def route_handlers(app: Litestar) -> Iterator[tuple[str, Any]]:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            yield route.path_format, handler


def test_every_request_date_is_a_bounded_one(app: Litestar) -> None:
    walked, unbounded = 0, []
    for path, handler in route_handlers(app):
        if handler.parsed_data_field is not None:
            walked += 1
            unbounded += [
                f"{path}: {field}"
                for field in unbounded_dates(mi.type_info(handler.parsed_data_field.annotation), "")
            ]
    assert walked > 30  # every body (37 today), not none
    assert unbounded == []


def test_the_walk_finds_a_raw_date() -> None:
    class Raw(msgspec.Struct):
        day: dt.date
        at: dt.datetime | None = None

    class NaiveButBounded(BoundedDates):
        at: NaiveInstant

    class Good(BoundedDates):
        day: BusinessDate
        at: list[Instant]

    assert list(unbounded_dates(mi.type_info(Raw), "")) == ["Raw.day", "Raw.at"]
    assert list(unbounded_dates(mi.type_info(NaiveButBounded), "")) == ["NaiveButBounded.at"]
    assert list(unbounded_dates(mi.type_info(Good), "")) == []


async def test_every_date_query_parameter_refuses_a_date_out_of_range(
    app: Litestar, client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    admin = await actors.platform_admin()
    checked = []
    for path, handler in route_handlers(app):
        for name, field in handler.parsed_fn_signature.parameters.items():
            types = [t.annotation for t in field.inner_types] or [field.annotation]
            kinds = [t for t in types if isinstance(t, type) and issubclass(t, dt.date)]
            if not kinds or "GET" not in handler.http_methods or "{" in path:
                continue
            far = "9999-12-31T23:59:59-14:00" if issubclass(kinds[0], dt.datetime) else "9999-12-31"
            response = await client.get(path, params={name: far}, headers=admin.headers)
            assert_problem(response, 400, "validation_failed")
            checked.append(f"{path}?{name}")
    assert checked == ["/v1/procurement/ocds/releases?since"]
