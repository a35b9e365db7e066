"""The unit of work's own connection at the driver: statements of the hottest write path
(order placement) sent by asyncpg with none of SQLAlchemy's execution layers between.

Through `session.execute` a plain text statement cost ~85 µs of client CPU on top of the
~25 µs asyncpg needs (session and connection bookkeeping, the compiled-cache key, bind
processing, the result and its Row objects, each through a greenlet switch); a 20-line
placement sends a dozen. Here a statement is compiled once for the asyncpg dialect (its
named parameters become `$n`), and each execution hands the values in that order to the
same asyncpg connection, in the same transaction, and reads back asyncpg's own records,
which the caller converts positionally.

What keeps it the same transaction and the same failures:
- the connection is the session's, taken with `AsyncSession.connection()`, and the
  transaction is begun (SQLAlchemy's adapter begins lazily, at the first statement) before
  anything is sent, so these statements commit and roll back with the unit of work;
- a statement goes through the adapter's own cursor (its lock, prepared-statement cache
  and error translation), and a failure is raised as SQLAlchemy raises it
  (`DBAPIError.instance`: `IntegrityError`, `OperationalError`, …) with the connection
  invalidated when it is gone, so callers, `outages.database_unavailable` and the API's
  error handlers see exactly what `session.execute` would have raised;
- only statements whose parameters need no bind processing may be sent this way (a
  JSONB or enum bind would need SQLAlchemy's conversion): `DriverStatement` refuses one
  that does when it is compiled, not in production.

The session's `autoflush` is off (`db.create_session_factory`), so sending a statement
here skips nothing `session.execute` would have done before it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.base import Executable

_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


class DriverStatement:
    """A statement compiled once for asyncpg: its SQL with `$n` placeholders and the
    names of its parameters in that order."""

    def __init__(self, statement: Executable) -> None:
        self._statement = statement

    @functools.cached_property
    def _compiled(self) -> tuple[str, tuple[str, ...]]:
        # Compiled at first use: a table's column types are only all known once every
        # model is defined.
        compiled = self._statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        processed = [
            name
            for name, bind in compiled.binds.items()
            if bind.type._cached_bind_processor(_DIALECT) is not None
        ]
        if processed:
            raise TypeError(
                f"parameters {processed} need SQLAlchemy's bind processing; send this "
                "statement through the session"
            )
        return compiled.string, tuple(compiled.positiontup or ())

    @property
    def sql(self) -> str:
        return self._compiled[0]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self._compiled[1]]


StatementObserver = Callable[[str, Sequence[Any]], None]
observers: list[StatementObserver] = []
"""Called with each statement and its arguments before it is sent, as SQLAlchemy's
`before_cursor_execute` is for the session's: benchmarks count and replay both."""


class Driver:
    """Statements on the unit of work's connection, in its transaction (see the module)."""

    def __init__(self, connection: AsyncConnection, adapted: Any) -> None:
        self._connection = connection
        self._adapted = adapted

    async def fetch(
        self, statement: DriverStatement, params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """The statement's rows as asyncpg records (positional)."""
        arguments = statement.arguments(params or {})
        return await self._run(statement.sql, arguments)

    async def begin(self) -> None:
        """Begin the transaction SQLAlchemy's adapter would begin at its first statement
        (under the adapter's lock, as it does); a failure — the server gone, the
        connection broken under an earlier request — is raised as SQLAlchemy raises it."""
        adapted = self._adapted
        if adapted._transaction is not None:
            return
        try:
            async with adapted._execute_mutex:
                if adapted._transaction is None:
                    await adapted._start_transaction()
        except Exception as error:
            raise await self._as_sqlalchemy_raises("BEGIN", [], error) from error

    async def execute(self, sql: str) -> None:
        """A statement with no parameters and no rows (a savepoint)."""
        await self._run(sql, [])

    async def _run(self, sql: str, arguments: list[Any]) -> Sequence[Any]:
        for observe in observers:
            observe(sql, arguments)
        cursor = self._adapted.cursor()
        try:
            await cursor._prepare_and_execute(sql, arguments)
        except Exception as error:
            raise await self._as_sqlalchemy_raises(sql, arguments, error) from error
        rows: Sequence[Any] = cursor._rows
        return rows

    async def _as_sqlalchemy_raises(
        self, sql: str, arguments: list[Any], error: Exception
    ) -> BaseException:
        base = self._adapted.dbapi.Error
        if not isinstance(error, base):
            return error  # not the driver's: a cancellation, a bug
        dialect = self._connection.dialect
        gone = bool(dialect.is_disconnect(error, self._adapted, None))
        if gone:
            await self._connection.invalidate(error)
        wrapped: BaseException = DBAPIError.instance(
            sql, arguments, error, base, connection_invalidated=gone, dialect=dialect
        )
        return wrapped


_SESSION_KEY = "marketplace.driver"


async def session_driver(session: AsyncSession) -> Driver:
    """The driver under the session's connection, its transaction begun; the same one
    for as long as the session's transaction lasts (kept in `session.info`)."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_SESSION_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        driver: Driver = cached[1]
        return driver
    connection = await session.connection()
    fairy = await connection.get_raw_connection()
    adapted = fairy.dbapi_connection
    assert adapted is not None
    driver = Driver(connection, adapted)
    await driver.begin()
    session.info[_SESSION_KEY] = (session.sync_session.get_transaction(), driver)
    return driver
