"""Hostile webhook receivers: whatever a receiver answers, the attempt is recorded, bounded,
and the delivery's schedule moves on.

The receiver here is a real TCP server on loopback that reads each request and answers
with scripted raw bytes — NULs and invalid UTF-8 in the body, absurd `Retry-After` values,
garbage status lines and headers, resets, redirects, compressed bombs, an answer dripped a
byte at a time — so the product's HTTP client meets them exactly as on the internet.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.test_webhook_delivery are parameters here)
from __future__ import annotations

import datetime as dt
import gzip
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from arq.connections import ArqRedis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.domain import OrganizationKind
from marketplace.db import unit_of_work
from marketplace.jobs import ArqJobQueue
from marketplace.webhooks import sender, tasks
from marketplace.webhooks.domain import (
    DISABLE_AFTER_FAILED_DELIVERIES,
    ERROR_TEXT_LIMIT,
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
)
from marketplace.webhooks.service import DeliveryService
from tests.support import Actors
from tests.test_webhook_delivery import (  # noqa: F401  (fixtures)
    ctx,
    deliveries,
    emit,
    get_endpoint,
    handle_without_queue,
    redis,
    register,
    scheduled,
)

Behaviour = Callable[[socket.socket], None]


def answer(raw: bytes) -> Behaviour:
    def behave(conn: socket.socket) -> None:
        conn.sendall(raw)

    return behave


def reset(conn: socket.socket) -> None:
    """Abort the connection (RST) instead of answering."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def drip(head: bytes, for_seconds: float = 15.0) -> Behaviour:
    """Send `head`, then one byte every 0.1 s: each read is quick, the answer never ends
    (the connection closes after `for_seconds`, so a test without a deadline ends too)."""

    def behave(conn: socket.socket) -> None:
        conn.sendall(head)
        stop = time.monotonic() + for_seconds
        try:
            while time.monotonic() < stop:
                conn.sendall(b"x")
                time.sleep(0.1)
        except OSError:
            pass  # the client hung up: what the deadline is for

    return behave


def response(status: str, *headers: bytes, body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status}".encode(), *headers]
    if not any(h.lower().startswith(b"content-length") for h in headers):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join([*lines, b"", b""]) + body


class RawReceiver:
    """HTTP/1.1 on 127.0.0.1: reads a request (head and Content-Length body), counts it,
    and answers with the behaviour of the moment, then closes the connection."""

    def __init__(self) -> None:
        self.behaviour: Behaviour = answer(response("204 No Content"))
        self.reads_request = True  # False: answers at once, whatever the client sends
        self.paths: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def port(self) -> int:
        return int(self._server.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(20)
            try:
                if not self.reads_request:
                    self.paths.append("(not read)")
                    self.behaviour(conn)
                    return
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(rest) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    rest += chunk
                self.paths.append(head.split(b" ")[1].decode())
                self.behaviour(conn)
            except OSError:
                pass

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def raw_receiver() -> Iterator[RawReceiver]:
    r = RawReceiver()
    yield r
    r.close()


async def pending_delivery(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    url: str,
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """A cooperative's endpoint at `url` with one delivery waiting for attempt 1."""
    coop = await actors.org(OrganizationKind.COOPERATIVE)
    endpoint = await register(client, coop, url, "order.placed")
    event_id = await emit(session_factory, None, "order.placed", coop.organization_id)
    await handle_without_queue(session_factory, event_id)
    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert (delivery["state"], delivery["attempt_count"]) == ("pending", 0)
    return coop, endpoint, delivery


def assert_delay(attempt: dict[str, Any], shortest: dt.timedelta, longest: dt.timedelta) -> None:
    """The retry is due between `shortest` and `longest` after the attempt ended (its
    start plus its duration, and a second for the writes after it)."""
    started = dt.datetime.fromisoformat(attempt["attempted_at"])
    ended = started + dt.timedelta(milliseconds=attempt["duration_ms"])
    due = dt.datetime.fromisoformat(attempt["next_attempt_at"])
    assert ended + shortest <= due <= ended + longest + dt.timedelta(seconds=1), (
        due - started,
        attempt,
    )


def assert_storable(error: str | None) -> None:
    assert error is not None
    assert "\x00" not in error
    assert len(error) <= ERROR_TEXT_LIMIT
    error.encode("utf-8")


FIRST_BACKOFF = (dt.timedelta(seconds=5), dt.timedelta(seconds=5.5))  # 5 s + up to 10 %
GZIP_BOMB = gzip.compress(b"\x00" * 20_000_000)  # 20 MB of NULs in ~20 kB

HOSTILE: dict[str, tuple[Behaviour, int | None, str, tuple[dt.timedelta, dt.timedelta]]] = {
    # name: (what the receiver does, status recorded, error starts with, delay range)
    "500 with NULs in its body": (
        answer(response("500 Internal Server Error", body=b"boom\x00\x00\x00\x00boom")),
        500,
        "HTTP 500: boom\ufffd\ufffd\ufffd\ufffdboom",
        FIRST_BACKOFF,
    ),
    "500 with invalid UTF-8": (
        answer(response("500 Internal Server Error", body=b"\xff\xfe\xc3(\xed\xa0\x80 bad")),
        500,
        "HTTP 500: \ufffd\ufffd\ufffd(",
        FIRST_BACKOFF,
    ),
    "500 with a 5 MB body": (
        answer(response("500 Internal Server Error", body=b"A" * 5_000_000)),
        500,
        "HTTP 500: AAAA",
        FIRST_BACKOFF,
    ),
    "500 with a gzip bomb": (
        answer(response("500 Internal Server Error", b"Content-Encoding: gzip", body=GZIP_BOMB)),
        500,
        "HTTP 500: (gzip-encoded body)",
        FIRST_BACKOFF,
    ),
    "503 Retry-After overflowing": (
        answer(response("503 Service Unavailable", b"Retry-After: 99999999999999999999")),
        503,
        "HTTP 503",
        (MAX_RETRY_AFTER, MAX_RETRY_AFTER),
    ),
    "503 Retry-After of 10,000 digits": (
        answer(response("503 Service Unavailable", b"Retry-After: " + b"9" * 10_000)),
        503,
        "HTTP 503",
        (MAX_RETRY_AFTER, MAX_RETRY_AFTER),
    ),
    "503 Retry-After superscript two": (
        answer(response("503 Service Unavailable", "Retry-After: ²".encode())),
        503,
        "HTTP 503",
        FIRST_BACKOFF,
    ),
    "503 Retry-After negative": (
        answer(response("503 Service Unavailable", b"Retry-After: -5")),
        503,
        "HTTP 503",
        FIRST_BACKOFF,
    ),
    "503 Retry-After in the far future": (
        answer(response("503 Service Unavailable", b"Retry-After: Fri, 31 Dec 9999 23:59:59 GMT")),
        503,
        "HTTP 503",
        (MAX_RETRY_AFTER, MAX_RETRY_AFTER),
    ),
    "503 Retry-After in the far past": (
        answer(response("503 Service Unavailable", b"Retry-After: Sun, 06 Nov 1994 08:49:37 GMT")),
        503,
        "HTTP 503",
        FIRST_BACKOFF,
    ),
    "429 Retry-After 120 s": (
        answer(response("429 Too Many Requests", b"Retry-After: 120")),
        429,
        "HTTP 429",
        (dt.timedelta(seconds=120), dt.timedelta(seconds=120)),
    ),
    "302 redirect": (
        answer(response("302 Found", b"Location: http://127.0.0.1:9/elsewhere")),
        302,
        "HTTP 302",
        FIRST_BACKOFF,
    ),
    "garbage status line": (
        answer(b"HTTP/1.1 banana\r\n\r\n"),
        None,
        "connection failed",
        FIRST_BACKOFF,
    ),
    "not HTTP at all": (answer(b"\x00\xff" * 100), None, "connection failed", FIRST_BACKOFF),
    "a 200 kB header": (
        answer(response("500 Internal Server Error", b"X-Big: " + b"a" * 200_000)),
        None,
        "connection failed",
        FIRST_BACKOFF,
    ),
    "NUL and 0xff in a header": (
        answer(response("500 Internal Server Error", b"X-Evil: \xff\x00\xfe")),
        None,
        "connection failed",
        FIRST_BACKOFF,
    ),
    "connection reset": (reset, None, "connection failed", FIRST_BACKOFF),
    "closed without an answer": (answer(b""), None, "connection failed", FIRST_BACKOFF),
    "an answer dripped forever": (
        drip(b"HTTP/1.1 500 Internal Server Error\r\nX-Slow: "),
        None,
        "timeout",
        FIRST_BACKOFF,
    ),
    "a 500 body dripped forever": (
        drip(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100000\r\n\r\n"),
        500,
        "HTTP 500: (the body did not arrive in time)",
        FIRST_BACKOFF,
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_every_hostile_answer_is_recorded_and_the_schedule_moves_on(
    name: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    raw_receiver: RawReceiver,
    ctx: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    behaviour, status, error_start, (shortest, longest) = HOSTILE[name]
    monkeypatch.setattr(sender, "ATTEMPT_DEADLINE_SECONDS", 1.0)  # tests don't wait 10 s
    raw_receiver.behaviour = behaviour
    coop, endpoint, delivery = await pending_delivery(
        client, actors, session_factory, raw_receiver.url
    )

    assert await tasks.deliver(ctx, delivery["id"], 1) == "retry"

    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert raw_receiver.paths == ["/hooks"]  # one POST, redirects not followed
    assert (delivery["state"], delivery["attempt_count"]) == ("pending", 1)
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == status
    assert attempt["error"].startswith(error_start), attempt["error"]
    assert_storable(attempt["error"])
    assert delivery["last_error"] == attempt["error"]
    assert_delay(attempt, shortest, longest)
    assert delivery["next_attempt_at"] == attempt["next_attempt_at"]
    # The same attempt is never made twice.
    assert await tasks.deliver(ctx, delivery["id"], 1) == "skipped"
    assert raw_receiver.paths == ["/hooks"]


async def test_a_2xx_is_delivered_without_reading_its_body(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    raw_receiver: RawReceiver,
    ctx: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sender, "ATTEMPT_DEADLINE_SECONDS", 1.0)
    raw_receiver.behaviour = drip(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
    coop, endpoint, delivery = await pending_delivery(
        client, actors, session_factory, raw_receiver.url
    )
    assert await tasks.deliver(ctx, delivery["id"], 1) == "delivered"
    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert delivery["state"] == "delivered"
    assert [(a["status_code"], a["error"]) for a in delivery["attempts"]] == [(200, None)]


async def test_a_tls_handshake_with_a_plain_http_server_is_a_failed_attempt(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    raw_receiver: RawReceiver,
    ctx: dict[str, Any],
) -> None:
    raw_receiver.behaviour = answer(response("400 Bad Request"))
    raw_receiver.reads_request = False  # a ClientHello is no HTTP request: answer it anyway
    coop, endpoint, delivery = await pending_delivery(
        client, actors, session_factory, f"https://127.0.0.1:{raw_receiver.port}/hooks"
    )
    assert await tasks.deliver(ctx, delivery["id"], 1) == "retry"
    [delivery] = await deliveries(client, coop, endpoint["id"])
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("connection failed"), attempt["error"]
    assert_delay(attempt, *FIRST_BACKOFF)


async def test_a_hostile_receiver_exhausts_its_retries_and_gets_its_endpoint_disabled(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    raw_receiver: RawReceiver,
    ctx: dict[str, Any],
) -> None:
    raw_receiver.behaviour = answer(
        response("503 Service Unavailable", "Retry-After: ²".encode(), body=b"\x00" * 50)
    )
    coop = await actors.org(OrganizationKind.COOPERATIVE)
    endpoint = await register(client, coop, raw_receiver.url, "order.placed")
    for n in range(DISABLE_AFTER_FAILED_DELIVERIES):
        event_id = await emit(session_factory, None, "order.placed", coop.organization_id)
        await handle_without_queue(session_factory, event_id)
        [delivery, *_] = await deliveries(client, coop, endpoint["id"])
        outcomes = [
            await tasks.deliver(ctx, delivery["id"], attempt)
            for attempt in range(1, MAX_ATTEMPTS + 1)
        ]
        assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
        [delivery, *_] = await deliveries(client, coop, endpoint["id"])
        assert delivery["state"] == "failed"
        assert [a["status_code"] for a in delivery["attempts"]] == [503] * MAX_ATTEMPTS
        assert (await get_endpoint(client, coop, endpoint["id"]))["consecutive_failures"] == n + 1
    state = await get_endpoint(client, coop, endpoint["id"])
    assert (state["enabled"], state["disabled_reason"]) == (False, "failing")
    assert len(raw_receiver.paths) == DISABLE_AFTER_FAILED_DELIVERIES * MAX_ATTEMPTS


# --- the mechanism: an outcome the database refuses is still an attempt --------------------

REFUSE_MARKED_ATTEMPTS = """
CREATE OR REPLACE FUNCTION test_refuse_marked_attempt() RETURNS trigger AS $$
BEGIN
    IF NEW.error LIKE '%REFUSE-ME%' THEN
        RAISE EXCEPTION 'refused by the test: %', NEW.error;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql
"""


@pytest.fixture
async def database_refuses_marked_errors(
    session_factory: async_sessionmaker[AsyncSession],
) -> Any:
    """The database refuses any attempt whose stored error holds "REFUSE-ME" — as it
    refused a NUL byte — standing for any value of an answer that cannot be written."""
    async with session_factory() as session:
        await session.execute(text(REFUSE_MARKED_ATTEMPTS))
        await session.execute(
            text(
                "CREATE TRIGGER test_refuse_marked_attempt BEFORE INSERT ON "
                "webhook_delivery_attempts FOR EACH ROW EXECUTE FUNCTION "
                "test_refuse_marked_attempt()"
            )
        )
        await session.commit()
    yield
    async with session_factory() as session:
        await session.execute(
            text("DROP TRIGGER test_refuse_marked_attempt ON webhook_delivery_attempts")
        )
        await session.execute(text("DROP FUNCTION test_refuse_marked_attempt()"))
        await session.commit()


async def test_an_answer_that_cannot_be_recorded_is_recorded_bare_and_the_schedule_moves(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    raw_receiver: RawReceiver,
    ctx: dict[str, Any],
    database_refuses_marked_errors: None,
) -> None:
    raw_receiver.behaviour = answer(response("500 Internal Server Error", body=b"REFUSE-ME"))
    coop, endpoint, delivery = await pending_delivery(
        client, actors, session_factory, raw_receiver.url
    )
    assert await tasks.deliver(ctx, delivery["id"], 1) == "retry"

    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert (delivery["state"], delivery["attempt_count"]) == ("pending", 1)
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == 500
    assert attempt["error"] == "the receiver's answer could not be recorded (HTTP 500)"
    assert_delay(attempt, *FIRST_BACKOFF)
    assert raw_receiver.paths == ["/hooks"]

    # Attempt after attempt, the same: the delivery fails after all its retries.
    outcomes = [await tasks.deliver(ctx, delivery["id"], n) for n in range(2, MAX_ATTEMPTS + 1)]
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 2) + ["failed"]
    [delivery] = await deliveries(client, coop, endpoint["id"])
    assert delivery["state"] == "failed"
    assert len(delivery["attempts"]) == MAX_ATTEMPTS
    assert (await get_endpoint(client, coop, endpoint["id"]))["consecutive_failures"] == 1


async def test_deliveries_of_hostile_receivers_do_not_starve_the_due_sweep(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
    raw_receiver: RawReceiver,
    redis: ArqRedis,
    ctx: dict[str, Any],
) -> None:
    """Two deliveries to a hostile receiver are the oldest due; a batch of two must not
    keep picking them, or the healthy delivery behind them would never be retried."""
    raw_receiver.behaviour = answer(
        response("503 Service Unavailable", b"Retry-After: 99999999999999999999", body=b"\x00")
    )
    hostile = [
        (await pending_delivery(client, actors, session_factory, raw_receiver.url))[2]["id"]
        for _ in range(2)
    ]
    healthy = (await pending_delivery(client, actors, session_factory, "http://127.0.0.1:9/"))[2]
    # Their own moment, long ago, so no other test's pending delivery is due with them.
    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    async with session_factory() as session:
        for n, delivery_id in enumerate([*hostile, healthy["id"]]):
            await session.execute(
                text("UPDATE webhook_deliveries SET next_attempt_at = :at WHERE id = :id"),
                {"at": long_ago + dt.timedelta(minutes=n), "id": uuid.UUID(delivery_id)},
            )
        await session.commit()
    sweep_moment = long_ago + dt.timedelta(hours=1)

    async def sweep() -> None:
        async with unit_of_work(session_factory, ArqJobQueue(redis)) as uow:
            await DeliveryService(uow).schedule_due(sweep_moment, limit=2)
            await uow.commit()

    await sweep()
    assert [await scheduled(redis, d) for d in hostile] == [True, True]
    assert not await scheduled(redis, healthy["id"])
    for delivery_id in hostile:  # what the worker runs for the jobs just queued
        assert await tasks.deliver(ctx, delivery_id, 1) == "retry"
    await redis.flushdb()

    await sweep()
    assert await scheduled(redis, healthy["id"])
    assert not any([await scheduled(redis, d) for d in hostile])
