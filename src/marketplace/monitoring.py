"""`GET /metrics`: Prometheus text, the process's counts plus what is read at scrape time.

Counted as things happen (`marketplace.metrics`): requests by route template and status,
problems by code, orders placed, rate-limit refusals and fail-opens. Read when scraped,
each source bounded by a timeout and reported as down rather than failing the scrape:

- the database pool of the process that answers (in use, idle, overflow, waiting) and its
  read pool (`marketplace.read_pool`);
- the outbox backlog (unhandled events, the oldest one's age) and partner webhook
  deliveries pending / failed in the last day (`marketplace.metrics_repository`);
- Redis health (`marketplace_redis_up`), the arq queue depth, and the job outcomes of
  every worker that is beating: workers push their counts through Redis with their
  heartbeat (`marketplace.jobs.read_worker_stats`), so the worker needs no port of its
  own and any API process can report them.

`METRICS_TOKEN`, when set, must be sent as `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import os
from collections.abc import Iterator
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from marketplace.errors import NotAuthenticated
from marketplace.jobs import read_worker_stats
from marketplace.metrics_repository import backlogs

SCRAPE_TIMEOUT_SECONDS = 2.0


class _Families:
    """A collector of families gathered already (prometheus-client's collect is sync)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def _gauge(name: str, doc: str, value: float, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


def _pools(state: State) -> list[Metric]:
    pool = state.engine.pool
    waiting = len(getattr(getattr(getattr(pool, "_pool", None), "_queue", None), "_getters", ()))
    db = GaugeMetricFamily(
        "marketplace_db_pool_connections",
        "The answering process's database pool, by state.",
        labels=["state"],
    )
    db.add_metric(["in_use"], pool.checkedout())
    db.add_metric(["idle"], pool.checkedin())
    db.add_metric(["overflow"], max(0, pool.overflow()))
    db.add_metric(["waiting"], waiting)
    families: list[Metric] = [
        db,
        _gauge("marketplace_db_pool_size", "Pooled connections kept per process.", pool.size()),
    ]
    read_pool = getattr(state, "read_pool", None)
    if read_pool is not None:
        read = GaugeMetricFamily(
            "marketplace_db_read_pool_connections",
            "The answering process's read pool (catalogue search), by state.",
            labels=["state"],
        )
        for key, value in read_pool.stats().items():
            read.add_metric([key], value)
        families.append(read)
    return families


async def _database(state: State) -> list[Metric]:
    try:
        async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
            async with state.engine.connect() as conn:
                found = await backlogs(conn)
    except Exception:  # the scrape reports the database as unreadable, never fails
        return [_gauge("marketplace_database_up", "1 when the scrape could read it.", 0)]
    deliveries = GaugeMetricFamily(
        "marketplace_webhook_deliveries",
        "Partner webhook deliveries: pending (retrying included), failed in the last 24 h.",
        labels=["state"],
    )
    deliveries.add_metric(["pending"], found["webhooks_pending"])
    deliveries.add_metric(["failed_24h"], found["webhooks_failed_24h"])
    return [
        _gauge("marketplace_database_up", "1 when the scrape could read it.", 1),
        _gauge(
            "marketplace_outbox_unhandled_events",
            "Outbox events not handled yet.",
            found["outbox_unhandled"],
        ),
        _gauge(
            "marketplace_outbox_oldest_unhandled_seconds",
            "Age of the oldest unhandled outbox event (0 when none).",
            found["outbox_oldest_seconds"],
        ),
        deliveries,
    ]


async def _redis(state: State) -> list[Metric]:
    try:
        async with asyncio.timeout(state.settings.redis_timeout_seconds):
            queued, workers = await read_worker_stats(state.redis, dt.datetime.now(dt.UTC))
    except Exception:  # Redis down or slow: that is what the metric says
        return [_gauge("marketplace_redis_up", "1 when Redis answered the scrape.", 0)]
    jobs = CounterMetricFamily(
        "marketplace_worker_jobs",
        "Jobs finished by each beating worker since it started, by outcome.",
        labels=["worker", "outcome"],
    )
    for beat in workers:
        jobs.add_metric([beat.worker, "complete"], beat.jobs_complete)
        jobs.add_metric([beat.worker, "failed"], beat.jobs_failed)
        jobs.add_metric([beat.worker, "retried"], beat.jobs_retried)
    return [
        _gauge("marketplace_redis_up", "1 when Redis answered the scrape.", 1),
        _gauge("marketplace_arq_queued_jobs", "Jobs waiting in the arq queue.", queued),
        _gauge("marketplace_workers_beating", "Workers whose heartbeat is fresh.", len(workers)),
        jobs,
    ]


def _process_registry() -> Any:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def _authorized(request: Request[Any, Any, Any], token: str | None) -> None:
    if not token:
        return
    sent = request.headers.get("authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        raise NotAuthenticated("Send the metrics token as `Authorization: Bearer <token>`.")


class MetricsController(Controller):
    include_in_schema = False

    @get("/metrics", media_type=CONTENT_TYPE_LATEST)
    async def metrics(self, request: Request[Any, Any, Any], state: State) -> Response[bytes]:
        _authorized(request, state.settings.metrics_token)
        database, redis = await asyncio.gather(_database(state), _redis(state))
        live = CollectorRegistry(auto_describe=False)
        live.register(_Families([*_pools(state), *database, *redis]))
        body = generate_latest(_process_registry()) + generate_latest(live)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
