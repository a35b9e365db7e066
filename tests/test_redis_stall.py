"""A stalled Redis (SIGSTOP: connections stay open, nothing is ever answered) holds no
response: writes are answered while it is still stopped, their jobs are left to the
sweeper, which queues them once Redis answers again. Against a `redis-server` of the
test's own, never the suite's shared one."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from reliability.servers import DrillRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.accounts.principal_cache import PrincipalCache
from marketplace.app import create_app
from marketplace.db import unit_of_work
from marketplace.jobs import ArqJobQueue, connect_redis
from marketplace.settings import Settings
from tests.catalog import create_listing, create_product
from tests.support import Actor, Actors

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
# Only a safety net, so a regression fails the test instead of hanging it: the stall
# ends by itself after this long.
SAFETY_SECONDS = 30


@pytest.fixture(scope="module")
def drill_redis() -> Iterator[DrillRedis]:
    with DrillRedis() as server:
        yield server


async def wait_until(condition: Any, limit: float = 20) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


class Stall:
    """Redis stopped with SIGSTOP; resumed on exit, or by a timer if the test hangs."""

    def __init__(self, server: DrillRedis) -> None:
        self.server = server
        self.safety = threading.Timer(SAFETY_SECONDS, server.resume)

    def __enter__(self) -> Stall:
        self.server.pause()
        self.safety.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.safety.cancel()
        self.server.resume()


def order(product_id: str) -> dict[str, Any]:
    return {
        "lines": [{"product_id": product_id, "quantity": 1}],
        "delivery": {"date": TOMORROW, "region_code": "35.76.02.1005", "address": "Dapur"},
    }


async def subscribed(app: Litestar) -> PrincipalCache:
    cache: PrincipalCache = app.state.principal_cache
    assert await wait_until(lambda: cache.live), "the principal cache never subscribed"
    return cache


async def test_an_order_is_answered_while_redis_is_stalled_and_its_events_swept_after(
    drill_redis: DrillRedis,
    settings: Settings,
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    app = create_app(msgspec.structs.replace(settings, redis_url=drill_redis.url))
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        await subscribed(app)
        shop = Actors(client, actors.factory)
        admin = await shop.platform_admin()
        product = await create_product(client, admin, price_caps=[])
        seller = await shop.org("cooperative", "seller", region_code="35.76.02.1005")
        await create_listing(client, seller, product["id"], stock=100)
        kitchen = await shop.org("kitchen", "buyer", region_code="35.76.02.1005")

        with Stall(drill_redis):
            started = time.monotonic()
            response = await client.post(
                "/v1/orders",
                json=order(product["id"]),
                headers={**kitchen.headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            answered_in = time.monotonic() - started
            answered_during_the_stall = drill_redis.paused
        print(f"POST /v1/orders answered in {answered_in:.2f} s with Redis stopped")
        assert response.status_code == 201, response.text
        assert answered_during_the_stall  # not when Redis came back

    order_id = response.json()["id"]
    async with session_factory() as session:
        event_ids = (
            (
                await session.execute(
                    text(
                        "SELECT id FROM outbox_events WHERE payload->>'order_id' = :o "
                        "AND handled_at IS NULL"
                    ),
                    {"o": order_id},
                )
            )
            .scalars()
            .all()
        )
    assert event_ids  # placed, committed, its events waiting for the queue

    # Redis answers again: the sweeper (its work, run here) queues every one of them.
    redis = connect_redis(drill_redis.url, timeout=2)
    try:
        async with unit_of_work(session_factory, ArqJobQueue(redis)) as uow:
            await outbox.sweep(uow, stale_after=dt.timedelta(0))
        queued = {job.decode() for job in await redis.zrange("arq:queue", 0, -1)}
    finally:
        await redis.aclose()
    for event_id in event_ids:
        assert any(job.startswith(outbox.job_id_for(event_id)) for job in queued), event_id


async def test_revocation_and_readiness_answer_while_redis_is_stalled(
    drill_redis: DrillRedis, settings: Settings, actors: Actors
) -> None:
    """Revoking publishes to Redis after its commit; readiness asks Redis. Neither waits
    for a stalled server, and a process subscribed to it stops trusting its cache."""
    app = create_app(msgspec.structs.replace(settings, redis_url=drill_redis.url))
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        cache = await subscribed(app)
        coop = await Actors(client, actors.factory).org("cooperative", "admin")
        viewer = await actors.key_for(coop, "viewer")
        key_id = await _key_id(client, coop, viewer)
        with Stall(drill_redis):
            revoked = await client.delete(f"/v1/api-keys/{key_id}", headers=coop.headers)
            revoked_during_the_stall = drill_redis.paused
            ready = await client.get("/readyz")
            ready_during_the_stall = drill_redis.paused
            # Its PING unanswered, the subscriber gives the subscription up.
            distrusted = await wait_until(lambda: not cache.live, limit=10)
            distrusted_during_the_stall = drill_redis.paused
        assert revoked.status_code == 200, revoked.text
        assert revoked_during_the_stall
        assert (await client.get("/v1/me", headers=viewer.headers)).status_code == 401
        # Ready: every request is served without Redis; its state is reported.
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["redis"].startswith("error")
        assert ready.json()["checks"]["worker"] == "unknown"
        assert ready_during_the_stall
        assert distrusted
        assert distrusted_during_the_stall
        assert await wait_until(lambda: cache.live)  # and subscribes again afterwards


async def _key_id(client: AsyncTestClient[Litestar], admin: Actor, member: Actor) -> str:
    keys = (
        await client.get(
            f"/v1/organizations/{admin.organization_id}/api-keys", headers=admin.headers
        )
    ).json()["items"]
    return str(next(k["id"] for k in keys if member.key.startswith(k["prefix"] + "_")))
