"""Tracing: one order's request → SQL → job → webhook delivery is one trace; off, nothing
of tracing is installed.

The spans go to the SDK's in-memory exporter; the order is placed through the app against
the real PostgreSQL and Redis, the worker runs in-process (burst), and the partner's
endpoint is a real HTTP server on loopback.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import msgspec
import pytest
import redis.asyncio
import wrapt
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from litestar.testing import AsyncTestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import tracing
from marketplace.jobs import ArqJobQueue
from marketplace.request_ids import bound
from marketplace.settings import Settings
from tests.builders.worker import run_worker_burst
from tests.catalog import create_listing, create_product
from tests.support import Actors, local_today
from tests.test_webhook_delivery import Receiver

MOJOKERTO = "35.76.02.1005"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on in this process, into memory, for one test (stopped after it: the other
    tests in this process run untraced)."""
    exporter = InMemorySpanExporter()
    tracing.start_tracing(tracing.API_SERVICE, processor=SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        tracing.stop_tracing()


@pytest.fixture
def traced_settings(settings: Settings) -> Settings:
    # Tracing is already on (`spans`): the endpoint turns it on for the app and the
    # worker, which keep the in-memory exporter started first.
    return msgspec.structs.replace(settings, otel_exporter_otlp_endpoint="http://127.0.0.1:9")


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    assert settings.redis_url is not None
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    await pool.flushdb()
    yield pool
    await pool.aclose()


def instrumented(cls: type, method: str) -> bool:
    """Whether an instrumentation has wrapped the class's method (a wrapt function wrapper)."""
    return isinstance(vars(cls)[method], wrapt.FunctionWrapper)


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    """The span's parent, its parent's parent, … as far as recorded spans go."""
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


async def test_one_orders_request_sql_job_and_webhook_delivery_form_one_trace(
    spans: InMemorySpanExporter,
    traced_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    queue: ArqRedis,
    receiver: Receiver,
) -> None:
    from marketplace.app import create_app
    from marketplace.worker import event_handlers

    async with AsyncTestClient(
        app=create_app(traced_settings), raise_server_exceptions=False
    ) as client:
        actors = Actors(client, session_factory)
        admin = await actors.platform_admin()
        rice = await create_product(client, admin, price_caps=[])
        coop = await actors.org("cooperative", region_code=MOJOKERTO)
        await create_listing(client, coop, rice["id"], tiers=[(1, 60_000)], stock=100)
        kitchen = await actors.org("kitchen", region_code=MOJOKERTO)
        response = await client.post(
            "/v1/webhook-endpoints",
            json={"url": receiver.url, "event_types": ["order.placed"]},
            headers=kitchen.headers,
        )
        assert response.status_code == 201, response.text
        spans.clear()

        placed = await client.post(
            "/v1/orders",
            json={
                "lines": [{"product_id": rice["id"], "quantity": 4}],
                "delivery": {
                    "date": (local_today() + dt.timedelta(days=1)).isoformat(),
                    "region_code": MOJOKERTO,
                    "address": "Dapur SPPG",
                },
            },
            headers={**kitchen.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert placed.status_code == 201, placed.text
        assert (await client.get("/livez")).status_code == 200  # probes are not traced
    await run_worker_burst(queue, traced_settings, event_handlers())

    finished = list(spans.get_finished_spans())
    by_id = {span.context.span_id: span for span in finished}
    [server] = [s for s in finished if s.kind is SpanKind.SERVER]
    assert server.name == "POST /v1/orders"
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/v1/orders"
    assert server.attributes[tracing.REQUEST_ID] == placed.headers["x-request-id"]
    trace_id = server.context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]

    # The request's SQL: statements straight under its span, the order's INSERTs among them.
    request_sql = [
        s
        for s in in_trace
        if s.kind is SpanKind.CLIENT and s.parent and s.parent.span_id == server.context.span_id
    ]
    assert any(s.name == "INSERT" for s in request_sql), [s.name for s in request_sql]

    # The outbox job: a CONSUMER span whose parent is the enqueue (PRODUCER) made while
    # the request ran; its own SQL under it.
    jobs = [s for s in in_trace if s.kind is SpanKind.CONSUMER]
    outbox_jobs = [s for s in jobs if server in ancestors(s, by_id) and "deliver" not in s.name]
    assert outbox_jobs, [s.name for s in jobs]
    outbox_job = outbox_jobs[0]
    assert outbox_job.parent is not None
    enqueue = by_id[outbox_job.parent.span_id]
    assert enqueue.kind is SpanKind.PRODUCER
    assert outbox_job.attributes is not None
    assert outbox_job.attributes[tracing.REQUEST_ID] == placed.headers["x-request-id"]
    assert any(
        s.kind is SpanKind.CLIENT and s.parent and s.parent.span_id == outbox_job.context.span_id
        for s in in_trace
    )

    # The delivery job, enqueued by the fan-out; the POST to the partner under it.
    [deliver] = [s for s in jobs if s.name == "process webhooks.deliver"]
    assert any(j in ancestors(deliver, by_id) for j in outbox_jobs)
    [post] = [
        s
        for s in in_trace
        if s.kind is SpanKind.CLIENT and s.attributes and "webhook.delivery_id" in s.attributes
    ]
    assert deliver in ancestors(post, by_id)
    assert post.attributes is not None
    assert post.attributes["webhook.event_type"] == "order.placed"
    assert post.attributes["http.response.status_code"] == 204
    assert post.attributes["url.full"] == receiver.url

    # Every span of it hangs from the request's: one trace, one root.
    assert [s for s in in_trace if not ancestors(s, by_id)] == [server]
    # Redis commands are traced under the enqueues; a lone one (the worker polling its
    # queue, the rate limiter) starts no trace of its own.
    assert any(s.kind is SpanKind.CLIENT and ancestors(s, by_id)[:1] == [enqueue] for s in in_trace)
    assert all(s.parent is not None for s in finished if s.kind is SpanKind.CLIENT)

    # The partner got the trace's context: the POST's own span as the parent.
    [request] = receiver.requests
    version, trace_hex, parent_hex, flags = request.headers["traceparent"].split("-")
    assert version == "00"
    assert int(flags, 16) & 1  # sampled
    assert int(trace_hex, 16) == trace_id
    assert int(parent_hex, 16) == post.context.span_id


async def test_without_an_endpoint_nothing_of_tracing_is_installed(
    settings: Settings, queue: ArqRedis
) -> None:
    from marketplace.app import create_app

    assert settings.otel_exporter_otlp_endpoint is None
    app = create_app(settings)

    assert not tracing.active()
    assert tracing.provider() is None
    assert not isinstance(trace.get_tracer_provider(), SdkTracerProvider)
    assert app.middleware == []
    with pytest.raises(KeyError):
        app.plugins.get("OpenTelemetryPlugin")
    # The drivers' methods are their own, not instrumentation's wrappers.
    assert not instrumented(asyncpg.Connection, "fetch")
    assert not instrumented(asyncpg.prepared_stmt.PreparedStatement, "fetch")
    assert not instrumented(redis.asyncio.Redis, "execute_command")
    # A job carries the request id, and no trace context.
    with bound("req-untraced"):
        await ArqJobQueue(queue).enqueue("test.noop", 1, job_id="untraced-job")
    [job] = [j for j in await queue.queued_jobs() if j.job_id == "untraced-job"]
    assert job.kwargs == {"request_id": "req-untraced"}


async def test_the_traced_app_has_the_middleware_and_stopping_takes_it_all_out(
    spans: InMemorySpanExporter, traced_settings: Settings, queue: ArqRedis
) -> None:
    """The other side of the test above, so that one can fail: on, everything is there."""
    from marketplace.app import create_app

    app = create_app(traced_settings)
    assert tracing.active()
    assert app.plugins.get("OpenTelemetryPlugin") is not None
    assert instrumented(asyncpg.Connection, "fetch")
    assert instrumented(redis.asyncio.Redis, "execute_command")
    with bound("req-traced"):
        await ArqJobQueue(queue).enqueue("test.noop", 1, job_id="traced-job")
    [job] = [j for j in await queue.queued_jobs() if j.job_id == "traced-job"]
    assert job.kwargs["request_id"] == "req-traced"
    context: Any = job.kwargs["trace_context"]
    assert context["traceparent"].startswith("00-")

    tracing.stop_tracing()
    assert not tracing.active()
    assert not instrumented(asyncpg.Connection, "fetch")
    assert not instrumented(redis.asyncio.Redis, "execute_command")
