"""Read-only connections straight from asyncpg, for the hottest read: the catalogue page.

Every buyer's search runs one SELECT and needs nothing of the ORM. Through a SQLAlchemy
session it paid ~0.35 ms per request on top of the query (session, pool checkout and
return through greenlets, connection events) — half again the query itself for cheap
filters. Here a request takes an idle asyncpg connection off a list and sends the
statement the repository built, prepared once per connection.

What makes the shortcut safe:
- the connections are read-only at the server (`default_transaction_read_only`), so no
  code path can write through them, and they run each statement in autocommit;
- nothing changes their session state (no SET, LISTEN, advisory locks or temporary
  tables), so a connection goes back to the pool without a `RESET ALL` round trip; one
  whose statement was interrupted (cancelled, cut off) is closed, never reused;
- a connection the server dropped (restart, `pg_terminate_backend`, a network cut) is
  replaced and the read run once more — it changed nothing, so running it again is
  safe; a second failure, or no connection free within the timeout, is
  `ReadUnavailable`, which the API answers with 503 and `Retry-After`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from marketplace.outages import DatabaseUnavailable, database_unavailable


class ReadUnavailable(DatabaseUnavailable):
    """The read could not be served now; nothing was changed and a retry may succeed."""


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (`postgresql+asyncpg://…`) as a libpq-style DSN for asyncpg."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


class ReadPool:
    """Autocommit, read-only connections for statements that need no unit of work.

    A few lines of our own rather than `asyncpg.Pool`: its acquire and release cost
    ~50 µs per read here (a task for the acquire timeout, another to shield the release,
    a reset round trip unless replaced), a tenth of a cheap catalogue query. Here taking
    a free connection is a list pop; the timeout is armed only when none is free.
    Connections open on first use (the API starts while the database is still coming up),
    the most recently used is reused first (its prepared statements are warm), and one
    idle longer than `max_idle_seconds` is closed when next met.
    """

    def __init__(
        self,
        dsn: str,
        *,
        max_size: int,
        acquire_timeout: float,
        application_name: str,
        max_idle_seconds: float = 300.0,
        connect_timeout: float | None = None,
    ) -> None:
        if max_size < 1:
            raise ValueError(
                f"a read pool needs at least one connection (DB_READ_POOL_SIZE={max_size})"
            )
        self._dsn = dsn
        self._acquire_timeout = acquire_timeout
        self._connect_timeout = acquire_timeout if connect_timeout is None else connect_timeout
        self._max_idle_seconds = max_idle_seconds
        self._server_settings = {
            "application_name": application_name,
            "default_transaction_read_only": "on",
        }
        self._max_size = max_size
        self._slots = asyncio.Semaphore(max_size)
        self._idle: list[tuple[asyncpg.Connection, float]] = []
        self._closed = False

    @classmethod
    def for_database(
        cls,
        database_url: str,
        *,
        max_size: int,
        acquire_timeout: float,
        application_name: str = "marketplace-read",
        connect_timeout: float | None = None,
    ) -> ReadPool:
        return cls(
            asyncpg_dsn(database_url),
            max_size=max_size,
            acquire_timeout=acquire_timeout,
            application_name=application_name,
            connect_timeout=connect_timeout,
        )

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[asyncpg.Record]:
        """The rows of one read-only statement (`$1…` parameters), run in autocommit."""
        for attempt in (1, 2):
            await self._take_slot()
            connection: asyncpg.Connection | None = None
            try:
                connection = await self._connection()
                rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
                return rows
            except BaseException as exc:
                lost = isinstance(exc, Exception) and database_unavailable(exc)
                if connection is not None and (lost or not isinstance(exc, asyncpg.PostgresError)):
                    # Cut off, cancelled mid-statement or broken: its state is unknown.
                    connection.terminate()
                    connection = None
                if not lost:
                    raise
                if attempt == 2:
                    raise ReadUnavailable(
                        "The database connection was lost; nothing was changed. Retry shortly."
                    ) from exc
            finally:
                if connection is not None:
                    self._give_back(connection)
                self._slots.release()
        raise AssertionError("unreachable")  # pragma: no cover

    def stats(self) -> dict[str, int]:
        """For `/metrics`: slots, slots in use, idle connections, requests waiting."""
        waiters = getattr(self._slots, "_waiters", None) or ()
        return {
            "size": self._max_size,
            "in_use": self._max_size - self._slots._value,
            "idle": len(self._idle),
            "waiting": sum(1 for w in waiters if not w.done()),
        }

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # returns at once
            return
        try:
            async with asyncio.timeout(self._acquire_timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise ReadUnavailable(
                "No database connection came free in time; nothing was changed. Retry shortly."
            ) from exc

    async def _connection(self) -> asyncpg.Connection:
        now = time.monotonic()
        while self._idle:
            connection, idle_since = self._idle.pop()
            if connection.is_closed():
                continue
            if now - idle_since > self._max_idle_seconds:
                connection.terminate()
                continue
            return connection
        fresh: asyncpg.Connection = await asyncpg.connect(
            self._dsn, timeout=self._connect_timeout, server_settings=self._server_settings
        )
        return fresh

    def _give_back(self, connection: asyncpg.Connection) -> None:
        if self._closed:
            connection.terminate()
        else:
            self._idle.append((connection, time.monotonic()))

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            try:
                await asyncio.wait_for(connection.close(), timeout=2)
            except (TimeoutError, OSError, asyncpg.InterfaceError):
                connection.terminate()
