"""Partner webhooks end to end: outbox event → fan-out → signed POST to a real receiver.

The receiver is a real HTTP server on loopback that checks each request with its own
implementation of the Standard Webhooks verification (HMAC-SHA256, constant-time compare,
timestamp tolerance). Backoff is never slept through: the due-retry path takes `now`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.accounts.domain import OrganizationKind
from marketplace.db import unit_of_work
from marketplace.jobs import ArqJobQueue
from marketplace.settings import Settings
from marketplace.webhooks import tasks
from marketplace.webhooks.domain import DISABLE_AFTER_FAILED_DELIVERIES, EVENT_TYPES, MAX_ATTEMPTS
from tests.builders import worker as worker_run
from tests.builders.events import example, topic_event
from tests.support import Actor, Actors

# --- a real receiver ------------------------------------------------------------------


class Received(msgspec.Struct):
    headers: dict[str, str]
    body: bytes


class Receiver:
    """HTTP server on 127.0.0.1 answering each POST with the next queued status (or 204).

    Only requests to its own random path count, so a delivery left over from another test
    that lands on a reused port is not mistaken for one of ours.
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        self.path = f"/hooks/{uuid.uuid4().hex}"
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path != receiver.path:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                with receiver._lock:
                    receiver.requests.append(
                        Received(headers={k.lower(): v for k, v in self.headers.items()}, body=body)
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                payload = b"" if status == 204 else b"receiver says " + str(status).encode()
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def dead_url() -> str:
    """A loopback port nobody listens on: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


class InvalidSignature(Exception):
    pass


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> Any:
    """Standard Webhooks verification, written independently of the product's signer."""
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        raise InvalidSignature("timestamp outside tolerance")
    key = base64.b64decode(secret.split("_", 1)[1])
    signed_content = f"{msg_id}.{timestamp}.{body.decode()}".encode()
    expected = base64.b64encode(hmac.new(key, signed_content, hashlib.sha256).digest()).decode()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected.encode()):
            return json.loads(body)
    raise InvalidSignature("no matching signature")


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[ArqRedis]:
    # The app's own queue: redelivery through the API enqueues there.
    assert settings.redis_url is not None
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    await pool.flushdb()
    yield pool
    await pool.aclose()


@pytest.fixture
def ctx(
    session_factory: async_sessionmaker[AsyncSession], redis: ArqRedis, settings: Settings
) -> dict[str, Any]:
    """What the worker's start-up puts in a job's context."""
    return {"session_factory": session_factory, "jobs": ArqJobQueue(redis), "settings": settings}


async def run_worker_burst(redis: ArqRedis, settings: Settings) -> None:
    from marketplace.worker import event_handlers

    await worker_run.run_worker_burst(redis, settings, event_handlers())


async def register(
    client: AsyncTestClient[Litestar], actor: Actor, url: str, *types: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook-endpoints",
        json={"url": url, "event_types": list(types or ["order.placed"]), **extra},
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def emit(
    session_factory: async_sessionmaker[AsyncSession],
    redis: ArqRedis | None,
    topic: str,
    organization_id: uuid.UUID | None,
    payload: dict[str, Any] | None = None,
) -> uuid.UUID:
    """An event of `topic`: a partner event (`payload` its fields, placeholders for the
    rest), or an internal one."""
    event = example(topic, **(payload or {})) if topic in EVENT_TYPES else topic_event(topic)
    async with unit_of_work(session_factory, ArqJobQueue(redis) if redis else None) as uow:
        event_id = outbox.emit(uow, event, organization_id=organization_id)
        await uow.commit()
    return event_id


async def handle_without_queue(
    session_factory: async_sessionmaker[AsyncSession], event_id: uuid.UUID
) -> None:
    """Fan the event out with no job queue: deliveries exist, no job does."""
    from marketplace.worker import event_handlers

    async with unit_of_work(session_factory, None) as uow:
        assert await outbox.handle_event(uow, event_id, event_handlers())


async def deliveries(
    client: AsyncTestClient[Litestar], actor: Actor, endpoint_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=actor.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def get_endpoint(
    client: AsyncTestClient[Litestar], actor: Actor, endpoint_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/webhook-endpoints/{endpoint_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def scheduled(redis: ArqRedis, delivery_id: str) -> bool:
    """Is an attempt of this delivery waiting in the queue?"""
    prefix = f"{tasks.DELIVER_JOB}:{delivery_id}:"
    return any((job.job_id or "").startswith(prefix) for job in await redis.queued_jobs())


def later(**delta: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(**delta)


# --- tests ----------------------------------------------------------------------------


async def test_event_reaches_only_the_subscribed_endpoints_of_its_organization_signed(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    coop = await actors.org(OrganizationKind.COOPERATIVE)
    other = await actors.org(OrganizationKind.KITCHEN)
    endpoint = await register(client, coop, receiver.url, "order.placed", "payment.succeeded")
    await register(client, coop, receiver.url + "/cancelled-only", "order.cancelled")
    await register(client, other, receiver.url + "/other-org", "order.placed")

    payload = {
        "order_id": str(uuid.uuid4()),
        "buyer_organization_id": str(coop.organization_id),
        "total": 1_250_000,
        "currency": "IDR",
        "delivery_date": "2026-12-04",
    }
    event_id = await emit(session_factory, redis, "order.placed", coop.organization_id, payload)
    await emit(session_factory, redis, "internal.only", coop.organization_id)  # not a webhook
    worker_started = time.monotonic()
    await run_worker_burst(redis, settings)
    worker_ms = (time.monotonic() - worker_started) * 1000

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.headers["webhook-id"] == str(event_id)
    assert request.headers["content-type"] == "application/json"
    message = verify(endpoint["secret"], request.headers, request.body)
    assert message["type"] == "order.placed"
    assert message["data"] == payload
    assert dt.datetime.fromisoformat(message["timestamp"]).tzinfo is not None
    with pytest.raises(InvalidSignature):  # another endpoint's secret does not verify
        verify("whsec_" + base64.b64encode(b"x" * 32).decode(), request.headers, request.body)

    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert delivery["event_id"] == str(event_id)
    assert delivery["event_type"] == "order.placed"
    assert delivery["state"] == "delivered"
    assert delivery["next_attempt_at"] is None
    [attempt] = delivery["attempts"]
    assert attempt["attempt"] == 1
    assert attempt["status_code"] == 204
    assert attempt["error"] is None
    # The attempt's own measure, in milliseconds, lies within the worker's run.
    assert isinstance(attempt["duration_ms"], int)
    assert 0 <= attempt["duration_ms"] <= worker_ms

    # Running the worker again (duplicate jobs, the sweeper, the retry cron) sends nothing.
    async with unit_of_work(session_factory, ArqJobQueue(redis)) as uow:
        await outbox.sweep(uow, stale_after=dt.timedelta(0))
    await redis.enqueue_job(outbox.HANDLE_JOB, str(event_id))
    await tasks.retry_due(
        {"session_factory": session_factory, "jobs": ArqJobQueue(redis)}, now=later(days=1)
    )
    assert not await scheduled(redis, delivery["id"])
    await run_worker_burst(redis, settings)
    assert len(receiver.requests) == 1


async def test_platform_endpoint_for_all_organizations_receives_their_events(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    platform = await actors.platform_admin()
    coop = await actors.org(OrganizationKind.COOPERATIVE)
    endpoint = await register(
        client, platform, receiver.url, "payment.refunded", all_organizations=True
    )
    try:
        event_id = await emit(session_factory, redis, "payment.refunded", coop.organization_id)
        await run_worker_burst(redis, settings)
        assert [r.headers["webhook-id"] for r in receiver.requests] == [str(event_id)]
        verify(endpoint["secret"], receiver.requests[0].headers, receiver.requests[0].body)
    finally:  # later tests' events must not reach this endpoint
        response = await client.delete(
            f"/v1/webhook-endpoints/{endpoint['id']}", headers=platform.headers
        )
        assert response.status_code == 204


async def test_failed_delivery_is_retried_with_backoff_until_the_receiver_is_back(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
    ctx: dict[str, Any],
) -> None:
    coop = await actors.org(OrganizationKind.COOPERATIVE)
    endpoint = await register(client, coop, dead_url(), "order.leg.shipped")
    event_id = await emit(session_factory, redis, "order.leg.shipped", coop.organization_id)
    await run_worker_burst(redis, settings)  # attempt 1: connection refused

    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert delivery["state"] == "pending"
    assert delivery["attempts"][0]["status_code"] is None
    assert "connection failed" in delivery["attempts"][0]["error"]
    retry_at = dt.datetime.fromisoformat(delivery["next_attempt_at"])
    assert dt.timedelta(seconds=4) < retry_at - dt.datetime.now(dt.UTC) < dt.timedelta(seconds=6)

    # Not due yet: nothing is scheduled.
    await tasks.retry_due(ctx)
    assert not await scheduled(redis, delivery["id"])

    # The receiver comes up (the partner fixes its URL) but answers 500 once.
    response = await client.patch(
        f"/v1/webhook-endpoints/{endpoint['id']}", json={"url": receiver.url}, headers=coop.headers
    )
    assert response.status_code == 200, response.text
    receiver.statuses = [500]
    await tasks.retry_due(ctx, now=later(seconds=6))
    assert await scheduled(redis, delivery["id"])
    await run_worker_burst(redis, settings)  # attempt 2: HTTP 500
    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert delivery["state"] == "pending"
    assert delivery["attempts"][1]["status_code"] == 500
    assert delivery["attempts"][1]["error"].startswith("HTTP 500")
    retry_at = dt.datetime.fromisoformat(delivery["next_attempt_at"])
    assert retry_at - dt.datetime.now(dt.UTC) > dt.timedelta(seconds=25)  # 30 s backoff

    await tasks.retry_due(ctx, now=later(seconds=20))
    assert not await scheduled(redis, delivery["id"])
    await tasks.retry_due(ctx, now=later(minutes=1))
    assert await scheduled(redis, delivery["id"])
    await run_worker_burst(redis, settings)  # attempt 3: delivered

    assert len(receiver.requests) == 2
    for request in receiver.requests:  # same id on every retry, each freshly signed
        assert request.headers["webhook-id"] == str(event_id)
        verify(endpoint["secret"], request.headers, request.body)
    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert delivery["state"] == "delivered"
    assert [a["attempt"] for a in delivery["attempts"]] == [1, 2, 3]
    assert [a["status_code"] for a in delivery["attempts"]] == [None, 500, 204]
    assert delivery["attempts"][2]["next_attempt_at"] is None
    assert (await get_endpoint(client, coop, endpoint["id"]))["enabled"] is True


async def test_gone_disables_the_endpoint_at_once(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    coop = await actors.org(OrganizationKind.COOPERATIVE)
    endpoint = await register(client, coop, receiver.url, "payment.failed")
    receiver.statuses = [410]
    await emit(session_factory, redis, "payment.failed", coop.organization_id)
    await run_worker_burst(redis, settings)

    state = await get_endpoint(client, coop, endpoint["id"])
    assert state["enabled"] is False
    assert state["disabled_reason"] == "gone"
    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert delivery["state"] == "failed"
    assert delivery["last_status_code"] == 410

    # A disabled endpoint gets no new deliveries, and redelivery asks to re-enable first.
    await emit(session_factory, redis, "payment.failed", coop.organization_id)
    await run_worker_burst(redis, settings)
    assert len(receiver.requests) == 1
    response = await client.post(
        f"/v1/webhook-deliveries/{delivery['id']}/redeliver", headers=coop.headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "webhooks.endpoint_disabled"

    # Re-enabled, a manual redelivery goes through with the same webhook-id.
    response = await client.patch(
        f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True}, headers=coop.headers
    )
    assert response.json()["enabled"] is True
    assert response.json()["disabled_reason"] is None
    response = await client.post(
        f"/v1/webhook-deliveries/{delivery['id']}/redeliver", headers=coop.headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "pending"
    await run_worker_burst(redis, settings)
    assert len(receiver.requests) == 2
    assert receiver.requests[1].headers["webhook-id"] == delivery["event_id"]
    [redelivered] = await deliveries(client, coop, endpoint["id"])
    assert redelivered["state"] == "delivered"
    assert [a["status_code"] for a in redelivered["attempts"]] == [410, 204]


async def test_repeatedly_exhausted_deliveries_disable_the_endpoint(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    ctx: dict[str, Any],
) -> None:
    coop = await actors.org(OrganizationKind.COOPERATIVE)
    endpoint = await register(client, coop, dead_url(), "consignment.statement.issued")
    for n in range(DISABLE_AFTER_FAILED_DELIVERIES):
        assert (await get_endpoint(client, coop, endpoint["id"]))["enabled"] is True
        event_id = await emit(
            session_factory, None, "consignment.statement.issued", coop.organization_id
        )
        await handle_without_queue(session_factory, event_id)
        [delivery, *_] = await deliveries(client, coop, endpoint["id"])
        outcomes = [
            await tasks.deliver(ctx, delivery["id"], attempt)
            for attempt in range(1, MAX_ATTEMPTS + 1)
        ]
        assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
        assert await tasks.deliver(ctx, delivery["id"], MAX_ATTEMPTS + 1) == "skipped"
        [delivery, *_] = await deliveries(client, coop, endpoint["id"])
        assert delivery["state"] == "failed"
        assert len(delivery["attempts"]) == MAX_ATTEMPTS
        assert (await get_endpoint(client, coop, endpoint["id"]))["consecutive_failures"] == n + 1

    state = await get_endpoint(client, coop, endpoint["id"])
    assert state["enabled"] is False
    assert state["disabled_reason"] == "failing"


async def test_no_event_is_lost_when_a_worker_dies_mid_delivery(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
    ctx: dict[str, Any],
) -> None:
    coop = await actors.org(OrganizationKind.COOPERATIVE)
    endpoint = await register(client, coop, receiver.url, "procurement.rfq.published")
    event_id = await emit(session_factory, None, "procurement.rfq.published", coop.organization_id)
    await handle_without_queue(session_factory, event_id)
    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert delivery["state"] == "pending"

    # A worker is in the middle of attempt 1: it holds the row lock.
    async with session_factory() as dying_worker:
        await dying_worker.execute(
            text("SELECT id FROM webhook_deliveries WHERE id = :id FOR UPDATE"),
            {"id": delivery["id"]},
        )
        # Nobody else sends the same attempt meanwhile.
        await tasks.retry_due(ctx, now=later(minutes=1))
        assert not await scheduled(redis, delivery["id"])
        assert await tasks.deliver(ctx, delivery["id"], 1) == "skipped"
        assert receiver.requests == []
        # The worker is killed: its transaction rolls back, and its job is gone from Redis.
        await dying_worker.rollback()
    await redis.flushdb()

    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert delivery["state"] == "pending"
    assert delivery["attempts"] == []
    await tasks.retry_due(ctx)  # the cron finds it
    assert await scheduled(redis, delivery["id"])
    await run_worker_burst(redis, settings)
    assert len(receiver.requests) == 1
    verify(endpoint["secret"], receiver.requests[0].headers, receiver.requests[0].body)
    assert receiver.requests[0].headers["webhook-id"] == str(event_id)

    await tasks.retry_due(ctx, now=later(days=1))
    assert not await scheduled(redis, delivery["id"])
    await run_worker_burst(redis, settings)
    assert len(receiver.requests) == 1
    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert delivery["state"] == "delivered"
