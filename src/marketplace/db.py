"""Database engine, declarative base and the unit of work.

The transaction boundary is the entry point — an HTTP controller or an arq task — not
the service: services take a `UnitOfWork`, do their reads and writes in its session and
never commit, so one use case can call another's service and still be one transaction.
The entry point calls `commit()` once; callbacks registered with `after_commit` run
only after the commit succeeded (side effects such as enqueueing jobs never fire for a
rolled-back transaction), and never hold the entry point longer than
`after_commit_timeout`: what they leave undone is picked up by its sweeper.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import structlog
from sqlalchemy import BigInteger, DateTime, Enum, MetaData, event, func, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from marketplace.driver import Driver, session_driver
from marketplace.ids import new_id
from marketplace.jobs import JobQueue
from marketplace.outages import DatabaseUnavailable, database_unavailable, redis_unavailable

log = structlog.get_logger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        int: BigInteger(),
        uuid.UUID: PG_UUID(as_uuid=True),
        dt.datetime: DateTime(timezone=True),
    }


def enum_column(enum_class: type[enum.StrEnum], length: int) -> Enum:
    """A column of a StrEnum's values, stored as they always were: VARCHAR(length), no
    PostgreSQL enum type and no CHECK constraint (so no migration). Rows read back as the
    enum's members, and a value that isn't one is refused before it is written."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


# An asyncpg connect waits up to 60 s by default for a server that accepted the socket
# but doesn't answer (stopped, overloaded, a network black hole).
DEFAULT_CONNECT_TIMEOUT = 5.0
# After a commit, its side effects (enqueueing jobs) may hold the caller this long at
# most; the outbox and payment/webhook sweepers re-enqueue whatever is left undone.
DEFAULT_AFTER_COMMIT_TIMEOUT = 0.5


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        # No pre-ping: it cost three loopback round trips per checkout (a third of a cheap
        # catalogue read). `_discard_closed_connection` catches what pre-ping was for — pooled
        # connections a database restart or `pg_terminate_backend` closed — without a round
        # trip; a connection that dies silently fails one request with a 503, and SQLAlchemy
        # then recycles every older pooled connection.
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={
            "server_settings": {"application_name": "marketplace"},
            "timeout": connect_timeout,
        },
        # JSONB columns (price tiers, payloads) through msgspec: several times faster than
        # the standard library on every row read.
        json_serializer=_encode_json,
        json_deserializer=msgspec.json.decode,
    )
    event.listen(engine.sync_engine.pool, "checkout", _discard_closed_connection)
    event.listen(engine.sync_engine, "do_connect", _connect_or_unavailable)
    return engine


def _connect_or_unavailable(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
    """Connect; a server that isn't there is `DatabaseUnavailable`, not a bare OSError.

    SQLAlchemy wraps only the driver's own errors; a stopped server (no socket file:
    `FileNotFoundError`), a closed port (`ConnectionRefusedError`) or a connect timeout
    reach the caller raw and would be indistinguishable from a bug. The driver's errors
    (the server refusing: starting up, too many connections) stay SQLAlchemy's to wrap.
    """
    try:
        return dialect.connect(*cargs, **cparams)
    except Exception as exc:
        if isinstance(exc, dialect.loaded_dbapi.Error) or not database_unavailable(exc):
            raise
        raise DatabaseUnavailable(
            "The database cannot be reached; nothing was changed. Retry shortly."
        ) from exc


def _discard_closed_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Refuse a pooled connection whose socket the server already closed; the pool then
    replaces it with a fresh one (SQLAlchemy retries the checkout on DisconnectionError)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError()


def _encode_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


AfterCommit = Callable[[], Awaitable[Any]]


class UnitOfWork:
    """One transaction. Entry points commit; services only use `session`."""

    def __init__(
        self,
        session: AsyncSession,
        jobs: JobQueue | None = None,
        *,
        after_commit_timeout: float = DEFAULT_AFTER_COMMIT_TIMEOUT,
    ) -> None:
        self.session = session
        self.jobs = jobs
        self.after_commit_timeout = after_commit_timeout
        self._after_commit: list[AfterCommit] = []
        self._gathered: dict[str, list[Any]] = {}
        self.committed = False

    async def driver(self) -> Driver:
        """This transaction's connection at the driver, for the hottest statements
        (`marketplace.driver`)."""
        return await session_driver(self.session)

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)

    def gather_after_commit(
        self, key: str, items: Iterable[Any], flush: Callable[[list[Any]], Awaitable[Any]]
    ) -> None:
        """Add `items` to what this transaction gathers under `key`; after commit, `flush`
        (the first one given for the key) runs once with all of them, as one callback: a
        transaction's many outbox events become one job, enqueued in one Redis round trip."""
        gathered = self._gathered.get(key)
        if gathered is None:
            gathered = self._gathered[key] = []
            self.after_commit(lambda: flush(gathered))
        gathered.extend(items)

    async def commit(self) -> None:
        await self.session.commit()
        self.committed = True
        callbacks, self._after_commit, self._gathered = self._after_commit, [], {}
        if callbacks:
            await run_after_commit(callbacks, self.after_commit_timeout)

    async def rollback(self) -> None:
        self._after_commit.clear()
        self._gathered.clear()
        await self.session.rollback()

    async def has_uncommitted_writes(self) -> bool:
        """Whether this transaction changed anything that no commit has made durable.

        PostgreSQL assigns a transaction id at a transaction's first write, whatever path
        the write took (ORM flush, Core statement, text), so the server's answer is the
        one that cannot miss a write; objects still pending in the session count too.
        """
        session = self.session
        if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
            return True
        if not session.in_transaction():
            return False
        assigned = await session.scalar(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL"))
        return bool(assigned)


async def run_after_commit(callbacks: list[AfterCommit], within: float) -> None:
    """Run a committed transaction's side effects, for `within` seconds at most.

    The transaction is durable; a side effect that fails or doesn't finish in time is
    redone by its own mechanism (the outbox sweeper and the payment and webhook sweeps
    re-enqueue lost jobs), so neither turns into an error nor holds the response: a
    stalled Redis once held every write's answer for as long as it was stopped.
    """
    started = time.monotonic()
    done = failed = 0
    first_error: BaseException | None = None
    try:
        async with asyncio.timeout(within):
            for callback in callbacks:
                try:
                    await callback()
                    done += 1
                except Exception as exc:
                    failed += 1
                    if first_error is None:
                        first_error = exc
                        if not redis_unavailable(exc):
                            log.exception("after_commit_callback_failed")
    except TimeoutError:
        pass
    left = len(callbacks) - done - failed
    if failed or left:
        log.warning(
            "after_commit_incomplete",
            done=done,
            failed=failed,
            unfinished=left,
            seconds=round(time.monotonic() - started, 3),
            error=repr(first_error) if first_error is not None else "timeout",
        )


@asynccontextmanager
async def unit_of_work(
    factory: async_sessionmaker[AsyncSession], jobs: JobQueue | None = None
) -> AsyncIterator[UnitOfWork]:
    async with factory() as session:
        uow = UnitOfWork(session, jobs)
        try:
            yield uow
        finally:
            if not uow.committed:
                await uow.rollback()


class ReadOnlyUnitOfWork(UnitOfWork):
    """A unit of work for handlers that only read: no transaction at all.

    Its session runs each statement in autocommit, so a read costs its SELECTs and no
    BEGIN/ROLLBACK round trips. Every statement sees committed data (as READ COMMITTED
    does anyway); nothing may be written: flushing or committing raises.
    """

    async def commit(self) -> None:
        raise RuntimeError("A read-only unit of work cannot commit.")


class _ReadOnlySession(Session):
    def flush(self, objects: Any = None) -> None:
        raise RuntimeError("A read-only unit of work cannot write.")


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for `ReadOnlyUnitOfWork`: autocommit statements, and any flush refused."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        sync_session_class=_ReadOnlySession,
        expire_on_commit=False,
        autoflush=False,
    )
