"""Hostile input answers a 4xx problem and changes nothing, on every route (issue 13).

One test per class of input, each through several endpoints: unknown time zones, dates
far outside any business record, forged pagination cursors (also fuzzed on every list
endpoint), deeply nested JSON, bodies that are not UTF-8, and deliveries beyond the
ordering horizon.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
import zoneinfo
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.request_edge import MAX_JSON_DEPTH
from marketplace.settings import DEFAULT_ORDER_DELIVERY_HORIZON_DAYS
from tests.builders import orders
from tests.catalog import create_listing, create_product
from tests.support import Actors, assert_problem

FAR_DATE = "9999-12-31"
# Both overflow when turned into UTC (year 0 and year 10000).
FAR_INSTANTS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
TABLES = (
    "organizations", "orders", "budget_periods", "trade_contracts", "sourcing_rfqs",
    "consignment_settlement_runs", "consignment_intakes", "listings", "webhook_endpoints",
    "stripe_events", "idempotency_records",
)  # fmt: skip


def jakarta_today() -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo("Asia/Jakarta")).date()


def cursor_of(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def row_counts(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with factory() as session:
        return {
            table: int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
            for table in TABLES
        }


def order_body(product_id: str, day: str, **extra: Any) -> dict[str, Any]:
    return orders.order_body([(product_id, 1)], date=day, address="Dapur SPPG", **extra)


def write(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": uuid.uuid4().hex, "content-type": "application/json"}


@pytest.fixture
async def cast(client: AsyncTestClient[Litestar], actors: Actors) -> dict[str, Any]:
    admin = await actors.platform_admin()
    rice = await create_product(client, admin, price_caps=[])
    coop = await actors.org("cooperative", "admin", region_code="35.76.02.1005")
    listing = await create_listing(client, coop, rice["id"], tiers=[(1, 60_000)], stock=50)
    return {
        "admin": admin,
        "rice": rice,
        "listing": listing,
        "coop": coop,
        "kitchen": await actors.org("kitchen", "admin", region_code="35.76.02.1005"),
        "tc": await actors.org("trade_center", "admin", region_code="35.72.01.1001"),
        "office": await actors.org("government", "admin", region_code="35.76.01.1001"),
        "umkm": await actors.org("umkm", "admin", region_code="35.76.02.1005"),
    }


# --- time zones ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone",
    ["Asia", "America", "../../../etc/passwd", "/etc/localtime", "Asia/../Asia/Jakarta",
     "Mars/Olympus", "asia/jakarta", "Asia/Jakarta\\"],
)  # fmt: skip
async def test_unknown_time_zones_are_400_naming_the_field(
    client: AsyncTestClient[Litestar],
    session_factory: async_sessionmaker[AsyncSession],
    cast: dict[str, Any],
    zone: str,
) -> None:
    admin, kitchen = cast["admin"], cast["kitchen"]
    before = await row_counts(session_factory)
    created = await client.post(
        "/v1/organizations",
        json={"kind": "umkm", "name": "Tempe Bu Sri", "slug": f"tz-{uuid.uuid4().hex[:8]}",
              "region_code": "35.76.01.1001", "city": "Kota Mojokerto", "time_zone": zone},
        headers=admin.headers,
    )  # fmt: skip
    assert "`time_zone`" in assert_problem(created, 400, "validation_failed")["detail"]
    path = f"/v1/organizations/{kitchen.organization_id}"
    patched = await client.patch(path, json={"time_zone": zone}, headers=admin.headers)
    assert "`time_zone`" in assert_problem(patched, 400, "validation_failed")["detail"]
    assert (await client.get(path, headers=admin.headers)).json()["time_zone"] == "Asia/Jakarta"
    assert await row_counts(session_factory) == before


# --- dates ---------------------------------------------------------------------------


async def test_dates_outside_the_accepted_range_are_400_on_every_kind_of_field(
    client: AsyncTestClient[Litestar],
    session_factory: async_sessionmaker[AsyncSession],
    cast: dict[str, Any],
) -> None:
    kitchen, tc, coop, office = cast["kitchen"], cast["tc"], cast["coop"], cast["office"]
    rice_id, some_id = cast["rice"]["id"], str(uuid.uuid4())
    today = jakarta_today()
    before = await row_counts(session_factory)
    budget = f"/v1/kitchens/{kitchen.organization_id}/budget-periods"
    contract = {
        "product_id": rice_id, "counterparty_organization_id": str(office.organization_id),
        "weekly_volume": 10, "unit_price": 55_000, "levy_bps": 150,
        "start_date": today.isoformat(), "end_date": FAR_DATE,
        "suppliers": [{"organization_id": str(coop.organization_id), "weekly_capacity": 10}],
    }  # fmt: skip
    rfq = {
        "title": "Sembako", "items": [{"product_id": rice_id, "quantity": 10}],
        "delivery": {"date": (today + dt.timedelta(days=7)).isoformat(),
                     "region_code": "35.76", "address": "Kantor"},
        "budget_code": "RUP-1", "deadline": FAR_INSTANTS[1],
    }  # fmt: skip
    refused = [
        await client.post(
            budget,
            json={"start_date": day, "portions_per_day": 10, "rupiah_per_portion": 8000},
            headers=write(kitchen.headers),
        )
        for day in (FAR_DATE, "0001-01-01", "1999-12-31", "2101-01-01")
    ] + [
        await client.post(
            "/v1/procurement/trade-contracts", json=contract, headers=write(tc.headers)
        ),
        await client.post(
            "/v1/orders", json=order_body(rice_id, FAR_DATE), headers=write(kitchen.headers)
        ),
        await client.post("/v1/procurement/rfqs", json=rfq, headers=write(office.headers)),
        await client.post(
            "/v1/consignment/intakes",
            json={
                "agreement_id": some_id,
                "product_id": rice_id,
                "quantity": 1,
                "unit_price": 1000,
                "expiry_date": FAR_DATE,
            },
            headers=write(coop.headers),
        ),
        *[
            await client.post(
                "/v1/consignment/settlement-runs",
                json={"cutoff": instant},
                headers=write(coop.headers),
            )
            for instant in FAR_INSTANTS
        ],
        *[
            await client.get(
                "/v1/procurement/ocds/releases",
                params={"since": instant},
                headers=office.headers,
            )
            for instant in [*FAR_INSTANTS, "1999-12-31T23:59:59Z", "0.5"]
        ],
    ]
    for response in refused:
        assert_problem(response, 400, "validation_failed")
    assert await row_counts(session_factory) == before
    # The edges themselves are accepted.
    at_the_edge = await client.get(
        "/v1/procurement/ocds/releases",
        params={"since": "2000-01-01T00:00:00Z"},
        headers=office.headers,
    )
    # Within the range, answered: 204 (no body) as this new office has no release yet.
    assert at_the_edge.status_code in (200, 204), at_the_edge.text


# --- cursors -------------------------------------------------------------------------

FORGED_CURSORS = [
    cursor_of(f"[1e30, {str(uuid.uuid4())!r}]".replace("'", '"')),
    cursor_of(f'[{2**63}, "{uuid.uuid4()}"]'),
    cursor_of(f'[{-(2**70)}, "{uuid.uuid4()}"]'),
    cursor_of("[" * 5000 + "]" * 5000),
    cursor_of(b'["\xff\xfe"]'),
    cursor_of("[]"),
    cursor_of("{}"),
    cursor_of(f'["{uuid.uuid4()}", 1]'),
    "A" * 10_000,
    "!!!",
    "%%%",
    "W1s=" * 3,
]


async def test_forged_cursors_are_400_invalid_cursor(
    client: AsyncTestClient[Litestar], cast: dict[str, Any]
) -> None:
    kitchen = cast["kitchen"]
    for path in ("/v1/listings", "/v1/orders", "/v1/organizations", "/v1/products"):
        for cursor in FORGED_CURSORS:
            response = await client.get(path, params={"cursor": cursor}, headers=kitchen.headers)
            assert_problem(response, 400, "pagination.invalid_cursor")
    # A real cursor still pages.
    first = await client.get("/v1/products", params={"limit": 1}, headers=kitchen.headers)
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await client.get(
        "/v1/products", params={"limit": 1, "cursor": cursor}, headers=kitchen.headers
    )
    assert second.status_code == 200, second.text


def list_endpoints(app: Litestar, organization_id: uuid.UUID) -> list[str]:
    """Every GET that takes a `cursor`, path ids filled (the caller's own organization)."""
    paths = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "GET" in handler.http_methods and "cursor" in handler.parsed_fn_signature.parameters:
                path = route.path_format
                for name in route.path_parameters:
                    own = name in ("organization_id", "kitchen_id")
                    path = path.replace(
                        "{" + name + "}", str(organization_id if own else uuid.uuid4())
                    )
                paths.append(path)
    return sorted(set(paths))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
    | st.uuids().map(str),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
random_cursors = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=120).map(cursor_of),
    json_values.map(lambda v: cursor_of(msgspec.json.encode(v))),
    st.tuples(st.integers(), st.uuids()).map(lambda t: cursor_of(f'[{t[0]}, "{t[1]}"]')),
)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cursor=random_cursors)
@example(cursor=FORGED_CURSORS[0])
@example(cursor=FORGED_CURSORS[3])
async def test_any_cursor_on_every_list_endpoint_is_200_or_a_4xx_problem(
    app: Litestar, client: AsyncTestClient[Litestar], actors: Actors, cursor: str
) -> None:
    admin = await actors.platform_admin()
    for path in list_endpoints(app, admin.organization_id):
        response = await client.get(path, params={"cursor": cursor}, headers=admin.headers)
        assert response.status_code in (200, 400, 404), (path, cursor, response.text)
        if response.status_code == 400:
            assert response.json()["code"] in ("pagination.invalid_cursor", "validation_failed")


# --- nesting and encoding ------------------------------------------------------------


def nested(depth: int, opener: str = "[") -> str:
    """JSON nested `depth` deep: arrays, or objects (`{"a": {"a": ... 1}}`)."""
    if opener == "[":
        return "[" * depth + '"x"' + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


def body_routes(cast: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    kitchen, admin, coop = cast["kitchen"], cast["admin"], cast["coop"]
    return [
        ("POST", "/v1/orders", write(kitchen.headers)),
        ("POST", "/v1/orders/preview", write(kitchen.headers)),
        ("PATCH", f"/v1/organizations/{kitchen.organization_id}", write(admin.headers)),
        ("POST", "/v1/organizations", write(admin.headers)),
        ("POST", "/v1/listings", write(coop.headers)),
        ("PATCH", f"/v1/listings/{cast['listing']['id']}", write(coop.headers)),
        ("POST", "/v1/webhook-endpoints", write(coop.headers)),
        ("POST", "/v1/consignment/settlement-runs", write(coop.headers)),
        # No API key and no typed body: the edge judges the body all the same.
        ("POST", "/v1/payments/stripe/webhook", {"content-type": "application/json"}),
    ]


async def test_deeply_nested_bodies_are_400_on_every_route(
    client: AsyncTestClient[Litestar],
    session_factory: async_sessionmaker[AsyncSession],
    cast: dict[str, Any],
) -> None:
    rice_id = cast["rice"]["id"]
    deep_lines = f'{{"notes": "\\u0000", "lines": {nested(5000)}, "delivery": {{}}}}'
    bodies = [
        nested(5000),
        nested(MAX_JSON_DEPTH + 1),
        nested(5000, "{"),
        "[" * 5000,  # unbalanced too
        deep_lines,  # the NUL check decoded the body untyped: RecursionError
        f'{{"name": "\\u0000", "x": {nested(5000)}}}',
        f'{{"lines": [{{"product_id": "{rice_id}", "quantity": 1}}], "x": {nested(5000)}}}',
    ]
    before = await row_counts(session_factory)
    for method, path, headers in body_routes(cast):
        for body in bodies:
            response = await client.request(method, path, content=body.encode(), headers=headers)
            assert_problem(response, 400)
    assert await row_counts(session_factory) == before
    # Nesting up to the limit is judged by the schema like any body (an unknown field here).
    kitchen = cast["kitchen"]
    within = f'{{"x": {nested(MAX_JSON_DEPTH - 1)}}}'
    response = await client.patch(
        f"/v1/organizations/{kitchen.organization_id}",
        content=within.encode(),
        headers=write(cast["admin"].headers),
    )
    assert (
        "unknown field"
        in assert_problem(response, 400, "validation_failed")["errors"][0]["message"]
    )


async def test_bodies_that_are_not_utf8_are_400_on_every_route(
    client: AsyncTestClient[Litestar],
    session_factory: async_sessionmaker[AsyncSession],
    cast: dict[str, Any],
) -> None:
    bodies = [
        b'{"name": "\xff\xfe"}',
        b'{"name": "Tempe \xc3"}',  # truncated sequence
        b'{"notes": "\xed\xa0\x80"}',  # an encoded surrogate
        b"\xff\xfe",
    ]
    kitchen, admin = cast["kitchen"], cast["admin"]
    path = f"/v1/organizations/{kitchen.organization_id}"
    before = (await client.get(path, headers=admin.headers)).json()
    counts = await row_counts(session_factory)
    for method, route, headers in body_routes(cast):
        for body in bodies:
            response = await client.request(method, route, content=body, headers=headers)
            assert_problem(response, 400, "validation_failed")
    assert (await client.get(path, headers=admin.headers)).json() == before
    assert await row_counts(session_factory) == counts


# --- the delivery horizon ------------------------------------------------------------


async def test_delivery_beyond_the_horizon_is_422_with_the_figures(
    client: AsyncTestClient[Litestar],
    session_factory: async_sessionmaker[AsyncSession],
    cast: dict[str, Any],
) -> None:
    kitchen, rice_id = cast["kitchen"], cast["rice"]["id"]
    today = jakarta_today()
    horizon = DEFAULT_ORDER_DELIVERY_HORIZON_DAYS
    last = today + dt.timedelta(days=horizon)
    before = await row_counts(session_factory)
    for path in ("/v1/orders/preview", "/v1/orders"):
        for day in (last + dt.timedelta(days=1), dt.date(2100, 12, 31)):
            response = await client.post(
                path, json=order_body(rice_id, day.isoformat()), headers=write(kitchen.headers)
            )
            problem = assert_problem(response, 422, "orders.delivery_too_far")
            assert problem["extra"] == {
                "delivery_date": day.isoformat(),
                "today": today.isoformat(),
                "latest_delivery_date": last.isoformat(),
                "horizon_days": horizon,
            }
    assert await row_counts(session_factory) == before
    preview = await client.post(
        "/v1/orders/preview",
        json=order_body(rice_id, last.isoformat()),
        headers=write(kitchen.headers),
    )
    assert preview.status_code == 200, preview.text
    placed = await client.post(
        "/v1/orders", json=order_body(rice_id, last.isoformat()), headers=write(kitchen.headers)
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["delivery"]["date"] == last.isoformat()


async def test_the_horizon_is_the_configured_one(
    client: AsyncTestClient[Litestar], app: Litestar, cast: dict[str, Any]
) -> None:
    settings = app.state.settings
    app.state.settings = msgspec.structs.replace(settings, order_delivery_horizon_days=7)
    try:
        day = jakarta_today() + dt.timedelta(days=8)
        response = await client.post(
            "/v1/orders/preview",
            json=order_body(cast["rice"]["id"], day.isoformat()),
            headers=write(cast["kitchen"].headers),
        )
    finally:
        app.state.settings = settings
    assert assert_problem(response, 422, "orders.delivery_too_far")["extra"]["horizon_days"] == 7
