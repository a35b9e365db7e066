"""Database engine, declarative base and the unit of work.

The transaction boundary is the entry point — an HTTP controller or an arq task — not
the service: services take a `UnitOfWork`, do their reads and writes in its session and
never commit, so one use case can call another's service and still be one transaction.
The entry point calls `commit()` once; callbacks registered with `after_commit` run
only after the commit succeeded (side effects such as enqueueing jobs never fire for a
rolled-back transaction).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import structlog
from sqlalchemy import BigInteger, DateTime, MetaData, event, func, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from marketplace.ids import new_id
from marketplace.jobs import JobQueue

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


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


def create_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, pool_timeout: float = 30.0
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
        connect_args={"server_settings": {"application_name": "marketplace"}},
        # JSONB columns (price tiers, payloads) through msgspec: several times faster than
        # the standard library on every row read.
        json_serializer=_encode_json,
        json_deserializer=msgspec.json.decode,
    )
    event.listen(engine.sync_engine.pool, "checkout", _discard_closed_connection)
    return engine


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

    def __init__(self, session: AsyncSession, jobs: JobQueue | None = None) -> None:
        self.session = session
        self.jobs = jobs
        self._after_commit: list[AfterCommit] = []
        self.committed = False

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)

    async def commit(self) -> None:
        await self.session.commit()
        self.committed = True
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                await callback()
            except Exception:
                # The transaction is durable; a failed side effect is retried by its own
                # mechanism (the outbox sweeper), so it must not turn into an error here.
                log.exception("after_commit_callback_failed")

    async def rollback(self) -> None:
        self._after_commit.clear()
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
