"""Test services: real PostgreSQL and Redis, schema made by the migrations.

With DATABASE_URL / REDIS_URL set, tests use those servers (a fresh database is created
on the PostgreSQL server for the run, and dropped afterwards); otherwise they start the
embedded ones under `.data/test`.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import asyncpg
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.db import create_engine, create_session_factory
from marketplace.read_pool import ReadPool
from marketplace.settings import Settings, normalize_database_url
from tests.support import Actors, ServiceUrls

ROOT = Path(__file__).resolve().parent.parent

# Hypothesis: a quick profile while working, a thorough one in CI (CI=true) and an exhaustive
# one on demand (HYPOTHESIS_PROFILE=deep). Tests that pin `max_examples` keep their own.
hypothesis_settings.register_profile("dev", max_examples=30, deadline=None)
hypothesis_settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.register_profile("deep", max_examples=2_000, deadline=None)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else "dev")
)


def _asyncpg_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


@pytest.fixture(scope="session")
def service_urls() -> Iterator[ServiceUrls]:
    from marketplace.embedded import start_postgres, start_redis
    from marketplace.migrations_runner import upgrade

    worker = xdist_worker_number()
    # Under pytest-xdist each worker has embedded servers of its own (or, on servers named
    # by the environment, a database of its own and Redis databases 2n and 2n+1).
    data_dir = ROOT / ".data" / "test" / (f"gw{worker}" if worker is not None else "")
    server_url = normalize_database_url(os.environ.get("DATABASE_URL")) or start_postgres(
        data_dir, database="postgres"
    )
    external_redis = os.environ.get("REDIS_URL")
    redis_url = (
        redis_database(external_redis, 2 * (worker or 0))
        if external_redis
        else start_redis(data_dir)
    )
    database = f"marketplace_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(server_url))
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(server_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    database_url = make_url(server_url).set(database=database).render_as_string(False)
    upgrade(database_url)
    try:
        yield ServiceUrls(database_url=database_url, redis_url=redis_url)
    finally:
        asyncio.run(drop())


def xdist_worker_number() -> int | None:
    name = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", … under pytest-xdist
    return int(name.removeprefix("gw")) if name else None


def redis_database(url: str, number: int) -> str:
    """`url` pointed at Redis database `number`: a `db` query parameter, which both arq and
    redis-py read before a database in the path."""
    base, _, query = url.partition("?")
    params = [(k, v) for k, v in parse_qsl(query) if k != "db"] + [("db", str(number))]
    return f"{base}?{urlencode(params)}"


def redis_database_number(url: str) -> int:
    parts = urlsplit(url)
    named = dict(parse_qsl(parts.query)).get("db")
    if named is None and parts.scheme != "unix":
        named = parts.path.strip("/") or None
    return int(named) if named else 0


@pytest.fixture(scope="session")
def settings(service_urls: ServiceUrls) -> Settings:
    # The in-process app enqueues into Redis database 1; worker tests drain database 0,
    # so a burst worker never wades through every other test's outbox jobs.
    return Settings(
        database_url=service_urls.database_url,
        redis_url=redis_database(
            service_urls.redis_url, redis_database_number(service_urls.redis_url) + 1
        ),
        log_level="WARNING",
        webhook_allow_private_targets=True,
        # Counted on every request as in production, but never reached by the suite's
        # bursts (tests/test_rate_limits.py runs apps of its own with small limits).
        rate_limit_per_key=1_000_000,
        rate_limit_per_address=1_000_000,
        rate_limit_bad_keys_per_address=1_000_000,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=5, max_overflow=20)
    yield engine
    await engine.dispose()


@pytest.fixture
async def reads(settings: Settings) -> AsyncIterator[ReadPool]:
    """A read pool like the API's, of its own."""
    assert settings.database_url is not None
    pool = ReadPool.for_database(settings.database_url, max_size=2, acquire_timeout=5)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    from marketplace.app import create_app

    return create_app(settings)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def actors(
    client: AsyncTestClient[Litestar], session_factory: async_sessionmaker[AsyncSession]
) -> Actors:
    return Actors(client, session_factory)


# --- page weights measured by the browser tests (tests/browser), shown after the run ------

PAGE_WEIGHTS = ROOT / ".data" / "test" / "page-weights"


def pytest_sessionstart(session: pytest.Session) -> None:
    if xdist_worker_number() is None:  # the controller (or a run without xdist)
        for stale in PAGE_WEIGHTS.glob("*.txt"):
            stale.unlink()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = sorted(p.read_text().strip() for p in PAGE_WEIGHTS.glob("*.txt"))
    if lines:
        terminalreporter.section("page weights (first load, compressed, 360x740)")
        for line in lines:
            terminalreporter.write_line(line)
