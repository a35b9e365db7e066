"""`/metrics`: Prometheus text (read back with prometheus-client's own parser) that moves
with what the API does, reports the pools, backlogs, Redis and the workers' job outcomes,
and sums every process of a real `marketplace serve --workers 2`."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from marketplace.http_server import HttpServer
from marketplace.jobs import Heartbeat, connect_redis, write_heartbeat
from marketplace.settings import Settings
from tests.api.test_orders import TOMORROW
from tests.builders import orders
from tests.builders.catalog import new_listing, new_product
from tests.support import Actors, ServiceUrls, assert_problem

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: AsyncTestClient[Litestar], **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


REQUESTS = "marketplace_http_request_duration_seconds_count"
CLI = [sys.executable, "-m", "marketplace.cli"]


async def test_requests_orders_and_refusals_are_counted(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    admin = await actors.platform_admin()
    rice = await new_product(client, admin, price_caps=[])
    seller = await actors.org("cooperative", "seller", region_code="35.76.02.1005")
    kitchen = await actors.org("kitchen", "buyer", region_code="35.76.02.1005")
    await new_listing(client, seller, rice, tiers=[(1, 66_000)], stock=5)
    before = await scrape(client)

    for _ in range(3):
        assert (await client.get("/livez")).status_code == 200
    assert (await client.get(f"/no/such/{uuid.uuid4()}")).status_code == 404
    body = orders.order_body([(rice, 2)], date=TOMORROW, address="Dapur")
    placed = await orders.place_order(client, kitchen, body, key="metrics-order-1")
    assert placed.status_code == 201, placed.text
    replay = await orders.place_order(client, kitchen, body, key="metrics-order-1")
    assert replay.status_code == 201
    assert replay.headers.get("idempotent-replayed") == "true"
    too_many = orders.order_body([(rice, 10)], date=TOMORROW, address="Dapur")
    assert_problem(
        await orders.place_order(client, kitchen, too_many), 422, "orders.insufficient_supply"
    )
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(REQUESTS, method="GET", route="/livez", status="200") == 3
    assert moved(REQUESTS, method="GET", route="unmatched", status="404") == 1
    assert moved(REQUESTS, method="POST", route="/v1/orders", status="201") == 2
    assert moved("marketplace_orders_placed_total") == 1  # the replay placed nothing
    assert moved("marketplace_problems_total", code="orders.insufficient_supply") == 1
    assert moved("marketplace_problems_total", code="not_found") == 1
    # The latency histogram's buckets hold every one of those requests.
    assert (
        moved(
            "marketplace_http_request_duration_seconds_bucket",
            method="GET",
            route="/livez",
            status="200",
            le="+Inf",
        )
        == 3
    )


async def test_pools_backlogs_redis_and_workers_are_reported(
    client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    worker = f"metrics-test-{uuid.uuid4().hex[:8]}"
    beat = Heartbeat(
        worker=worker,
        at=dt.datetime.now(dt.UTC),
        jobs_complete=41,
        jobs_failed=2,
        jobs_retried=3,
        interval=60,
    )
    assert settings.redis_url is not None
    redis = connect_redis(settings.redis_url, timeout=2)
    await write_heartbeat(redis, beat, 60)
    samples = await scrape(client)
    assert value(samples, "marketplace_redis_up") == 1
    assert value(samples, "marketplace_database_up") == 1
    jobs = "marketplace_worker_jobs_total"
    assert value(samples, jobs, worker=worker, outcome="complete") == 41
    assert value(samples, jobs, worker=worker, outcome="failed") == 2
    assert value(samples, jobs, worker=worker, outcome="retried") == 3
    assert value(samples, "marketplace_workers_beating") >= 1
    names = {name for name, _ in samples}
    for expected in (
        "marketplace_db_pool_connections",
        "marketplace_db_pool_size",
        "marketplace_db_read_pool_connections",
        "marketplace_outbox_unhandled_events",
        "marketplace_outbox_oldest_unhandled_seconds",
        "marketplace_webhook_deliveries",
        "marketplace_arq_queued_jobs",
    ):
        assert expected in names, sorted(names)
    assert value(samples, "marketplace_db_pool_size") == 10
    assert value(samples, "marketplace_db_read_pool_connections", state="size") == 5
    # A worker gone silent for three of its intervals drops out.
    stale = msgspec.structs.replace(beat, at=beat.at - dt.timedelta(minutes=5))
    await write_heartbeat(redis, stale, 60)
    samples = await scrape(client)
    assert value(samples, jobs, worker=worker, outcome="complete") == 0
    await redis.delete("marketplace:worker:heartbeat")
    await redis.aclose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_redis_down_is_a_metric_and_the_limiter_fails_open(
    settings: Settings, actors: Actors
) -> None:
    from marketplace.app import create_app

    buyer = await actors.org()
    dead = msgspec.structs.replace(
        settings,
        redis_url=f"redis://127.0.0.1:{_closed_port()}/0",
        redis_timeout_seconds=0.5,
        rate_limit_per_key=100,
    )
    async with AsyncTestClient(app=create_app(dead), raise_server_exceptions=False) as client:
        before = await scrape(client)
        assert (await client.get("/v1/me", headers=buyer.headers)).status_code == 200
        after = await scrape(client)
        assert value(after, "marketplace_redis_up") == 0
        assert value(after, "marketplace_database_up") == 1
        fail_open = "marketplace_rate_limit_fail_open_total"
        assert value(after, fail_open) - value(before, fail_open) == 1
        # Readiness is the database's: Redis away is degraded, not out of service.
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"


async def test_a_metrics_token_guards_the_metrics(settings: Settings) -> None:
    from marketplace.app import create_app

    guarded = msgspec.structs.replace(settings, metrics_token="s3cret-scraper")
    async with AsyncTestClient(app=create_app(guarded), raise_server_exceptions=False) as client:
        assert_problem(await client.get("/metrics"), 401, "auth.unauthenticated")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert await scrape(client, Authorization="Bearer s3cret-scraper")


def test_metrics_are_not_in_the_public_contract(client: AsyncTestClient[Litestar]) -> None:
    schema: dict[str, Any] = client.app.openapi_schema.to_schema()
    assert "/metrics" not in schema["paths"]


@pytest.mark.slow
@pytest.mark.parametrize("server", list(HttpServer))
def test_a_served_pods_metrics_sum_its_processes(
    server: HttpServer, service_urls: ServiceUrls, tmp_path: Path
) -> None:
    port = _closed_port()
    env = {
        **os.environ,
        "DATABASE_URL": service_urls.database_url,
        "REDIS_URL": service_urls.redis_url,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with (tmp_path / "server.log").open("wb") as out:
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", "2", "--server", server],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            # A new connection each time: either process may take it (they share the socket),
            # and whichever answers the scrape reports all 40.
            for _ in range(40):
                with httpx.Client() as one:
                    one.get(f"{base}/livez", timeout=5).raise_for_status()
            for _ in range(6):
                with httpx.Client() as one:
                    text = one.get(f"{base}/metrics", timeout=5).text
                samples = parse(text)
                livez = value(samples, REQUESTS, method="GET", route="/livez", status="200")
                assert livez == 40, text
        finally:
            server.terminate()
            server.wait(timeout=30)
