"""What every API answer says about itself: 415 for a body that isn't JSON, `Location` on
a 201, `Cache-Control: no-store` and `nosniff`; and idempotency records that expire (the
hourly sweep, registered with the worker on its real schedule)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from arq.cron import CronJob
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import idempotency
from marketplace.settings import Settings, load_settings
from marketplace.worker import WorkerSettings, sweep_idempotency
from tests.api.test_orders import TOMORROW
from tests.builders import orders
from tests.builders.catalog import new_listing, new_product, product_body
from tests.builders.worker import gaps_between_runs
from tests.support import Actors, assert_problem


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", None],
)
async def test_a_body_that_is_not_json_is_415(
    client: AsyncTestClient[Litestar], actors: Actors, content_type: str | None
) -> None:
    admin = await actors.platform_admin()
    body = b'{"sku": "X"}'
    headers = {**admin.headers, **({"Content-Type": content_type} if content_type else {})}
    response = await client.post("/v1/products", content=body, headers=headers)
    problem = assert_problem(response, 415, "unsupported_media_type")
    assert "application/json" in problem["detail"]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/JSON"])
async def test_json_in_any_spelling_is_read(
    client: AsyncTestClient[Litestar], actors: Actors, content_type: str
) -> None:
    import msgspec

    admin = await actors.platform_admin()
    body = msgspec.json.encode(product_body())
    response = await client.post(
        "/v1/products", content=body, headers={**admin.headers, "Content-Type": content_type}
    )
    assert response.status_code == 201, response.text


async def test_a_created_object_says_where_it_is(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    admin = await actors.platform_admin()
    created = await client.post("/v1/products", json=product_body(), headers=admin.headers)
    assert created.status_code == 201
    assert created.headers["location"] == f"/v1/products/{created.json()['id']}"
    assert (await client.get(created.headers["location"], headers=admin.headers)).json() == (
        created.json()
    )
    seller = await actors.org("cooperative", "seller", region_code="35.76.02.1005")
    kitchen = await actors.org("kitchen", "buyer", region_code="35.76.02.1005")
    rice = await new_product(client, admin, price_caps=[])
    await new_listing(client, seller, rice, tiers=[(1, 66_000)], stock=5)
    body = orders.order_body([(rice, 1)], date=TOMORROW, address="Dapur")
    placed = await orders.place_order(client, kitchen, body, key="located-1")
    assert placed.status_code == 201, placed.text
    assert placed.headers["location"] == f"/v1/orders/{placed.json()['id']}"
    replay = await orders.place_order(client, kitchen, body, key="located-1")
    assert replay.headers["location"] == placed.headers["location"]
    got = await client.get(placed.headers["location"], headers=kitchen.headers)
    assert got.status_code == 200


async def test_api_answers_are_never_stored_or_sniffed(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    admin = await actors.platform_admin()
    for response in (
        await client.get("/v1/me", headers=admin.headers),
        await client.get("/v1/me"),  # a problem too
        await client.get(f"/v1/orders/{uuid.uuid4()}", headers=admin.headers),
    ):
        assert response.headers["cache-control"] == "no-store", response.headers
        assert response.headers["x-content-type-options"] == "nosniff"
    static = await client.get("/static/site.css")
    assert static.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in static.headers.get("cache-control", "")


def sweep_cron() -> CronJob:
    found = [c for c in WorkerSettings.cron_jobs if c.coroutine is sweep_idempotency]
    assert len(found) == 1, "the idempotency sweep is not in the worker's cron list"
    return found[0]


def test_the_idempotency_sweep_runs_every_hour() -> None:
    job = sweep_cron()
    assert job.name == idempotency.SWEEP_JOB
    assert gaps_between_runs(job, 30) == {dt.timedelta(hours=1)}


def test_the_ttl_is_a_setting() -> None:
    assert load_settings({}).idempotency_ttl_hours == 24
    assert load_settings({"IDEMPOTENCY_TTL_HOURS": "48"}).idempotency_ttl_hours == 48


async def test_an_expired_key_is_swept_and_then_places_afresh(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.platform_admin()
    seller = await actors.org("cooperative", "seller", region_code="35.76.02.1005")
    kitchen = await actors.org("kitchen", "buyer", region_code="35.76.02.1005")
    rice = await new_product(client, admin, price_caps=[])
    await new_listing(client, seller, rice, tiers=[(1, 66_000)], stock=10)
    body = orders.order_body([(rice, 1)], date=TOMORROW, address="Dapur")
    old_key, fresh_key = f"old-{uuid.uuid4().hex}", f"fresh-{uuid.uuid4().hex}"
    first = await orders.place_order(client, kitchen, body, key=old_key)
    kept = await orders.place_order(client, kitchen, body, key=fresh_key)
    assert first.status_code == kept.status_code == 201
    async with session_factory() as session:
        await session.execute(
            text(
                "UPDATE idempotency_records SET created_at = now() - interval '25 hours' "
                "WHERE key = :k"
            ),
            {"k": old_key},
        )
        await session.commit()
    from marketplace.jobs import ArqJobQueue

    ctx: dict[str, Any] = {
        "settings": settings,
        "session_factory": session_factory,
        "jobs": ArqJobQueue(None),
    }
    assert await sweep_idempotency(ctx) >= 1
    async with session_factory() as session:
        left = (
            await session.execute(
                text("SELECT key FROM idempotency_records WHERE key IN (:a, :b)"),
                {"a": old_key, "b": fresh_key},
            )
        ).scalars()
        assert set(left) == {fresh_key}
    again = await orders.place_order(client, kitchen, body, key=old_key)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    replayed = await orders.place_order(client, kitchen, body, key=fresh_key)
    assert replayed.headers.get("idempotent-replayed") == "true"
    assert replayed.json()["id"] == kept.json()["id"]
