"""Read-only connections straight from asyncpg, for the hottest read: the catalogue page.

Every buyer's search runs one SELECT and needs nothing of the ORM. Through a SQLAlchemy
session it paid ~0.35 ms per request on top of the query (session, pool checkout and
return through greenlets, connection events) — half again the query itself for cheap
filters. Here a request borrows a connection from an asyncpg pool (~0.06 ms) and sends the
statement the repository built, prepared once per connection.

What makes the shortcut safe:
- the connections are read-only at the server (`default_transaction_read_only`), so no
  code path can write through them, and they run each statement in autocommit;
- nothing changes their session state (no SET, LISTEN, advisory locks or temporary
  tables), so returning one to the pool needs no `RESET ALL` round trip;
- a connection the server dropped (restart, `pg_terminate_backend`, a network cut) is
  replaced and the read run once more — it changed nothing, so running it again is
  safe; a second failure, or no connection free within the timeout, is
  `ReadUnavailable`, which the API answers with 503 and `Retry-After`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

# Connection exception, insufficient resources (too many connections), operator
# intervention (a backend terminated, the server shutting down or starting up).
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


class ReadUnavailable(Exception):
    """The read could not be served now; nothing was changed and a retry may succeed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (`postgresql+asyncpg://…`) as a libpq-style DSN for asyncpg."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` says the connection or the server is gone (not that the SQL is bad)."""
    if isinstance(exc, (OSError, asyncpg.ConnectionDoesNotExistError)):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return "closed" in str(exc)
    return str(getattr(exc, "sqlstate", "") or "").startswith(UNAVAILABLE_SQLSTATE_CLASSES)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Returning a connection resets nothing: reads leave no session state behind."""


class ReadPool:
    """Autocommit, read-only connections for statements that need no unit of work."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout

    @classmethod
    async def open(
        cls,
        database_url: str,
        *,
        max_size: int,
        acquire_timeout: float,
        application_name: str = "marketplace-read",
    ) -> ReadPool:
        pool = await asyncpg.create_pool(
            asyncpg_dsn(database_url),
            # Connections are made on first use: the API starts (and reports in /readyz)
            # while the database is still coming up.
            min_size=0,
            max_size=max_size,
            max_inactive_connection_lifetime=300.0,
            reset=_keep_session,
            timeout=acquire_timeout,
            server_settings={
                "application_name": application_name,
                "default_transaction_read_only": "on",
            },
        )
        return cls(pool, acquire_timeout=acquire_timeout)

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[asyncpg.Record]:
        """The rows of one read-only statement (`$1…` parameters), run in autocommit."""
        for attempt in (1, 2):
            try:
                async with self._pool.acquire(timeout=self._acquire_timeout) as connection:
                    return list(await connection.fetch(sql, *args))
            except TimeoutError as exc:
                raise ReadUnavailable(
                    "No database connection came free in time; nothing was changed. Retry shortly."
                ) from exc
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if not connection_lost(exc):
                    raise
                if attempt == 2:
                    raise ReadUnavailable(
                        "The database connection was lost; nothing was changed. Retry shortly."
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._pool.close(), timeout=5)
        except TimeoutError:
            self._pool.terminate()
