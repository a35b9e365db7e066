"""Litestar dependencies every controller uses: the unit of work and the caller."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncGenerator
from typing import Any, TypeAlias

import structlog
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from marketplace.accounts.domain import Principal
from marketplace.accounts.principal_cache import (
    Invalidation,
    PrincipalCache,
    publish_invalidation,
)
from marketplace.accounts.service import AccountsService, key_hash_of, last_use_due
from marketplace.db import UnitOfWork
from marketplace.errors import NotAuthenticated
from marketplace.jobs import ArqJobQueue
from marketplace.read_pool import ReadPool

log = structlog.get_logger(__name__)


# Methods whose handlers only read: a write there is a bug of its own, not a lost commit.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ForgottenCommit(RuntimeError):
    """A write handler returned normally with writes its unit of work never committed."""


async def provide_uow(
    request: Request[Any, Any, State], state: State
) -> AsyncGenerator[UnitOfWork, None]:
    async with state.session_factory() as session:
        uow = UnitOfWork(
            session,
            ArqJobQueue(state.redis),
            after_commit_timeout=state.settings.job_enqueue_timeout_seconds,
        )
        try:
            yield uow
            # Reached only when the handler returned (an exception is thrown in at the
            # yield): an answer of success over writes about to be rolled back is a lie.
            if not uow.committed and request.method not in _SAFE_METHODS:
                await _refuse_forgotten_commit(request, uow, state)
        finally:
            if not uow.committed:
                await uow.rollback()


async def _refuse_forgotten_commit(
    request: Request[Any, Any, State], uow: UnitOfWork, state: State
) -> None:
    if not await uow.has_uncommitted_writes():
        return
    route = request.scope.get("path_template") or request.url.path
    settings = getattr(state, "settings", None)
    if settings is not None and settings.environment == "production":
        # The answer is already built; shout in the log rather than fail the caller.
        log.error("unit_of_work_commit_forgotten", method=request.method, route=route)
        return
    raise ForgottenCommit(
        f"{request.method} {route} returned without committing its writes; "
        "call `await uow.commit()` after the use case."
    )


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


def _read_session_factory(state: State) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] | None = getattr(state, "read_session_factory", None)
    if factory is None:
        factory = async_sessionmaker(
            state.engine.execution_options(isolation_level="AUTOCOMMIT"),
            sync_session_class=_ReadOnlySession,
            expire_on_commit=False,
            autoflush=False,
        )
        state.read_session_factory = factory
    return factory


async def provide_read_uow(state: State) -> AsyncGenerator[UnitOfWork, None]:
    async with _read_session_factory(state)() as session:
        yield ReadOnlyUnitOfWork(session)


# `dependencies=READ_ONLY` on a handler that only reads (GET): its `uow` runs without a
# transaction.
READ_ONLY = {"uow": Provide(provide_read_uow)}


async def provide_principal(
    request: Request[Any, Any, State], uow: NamedDependency[UnitOfWork]
) -> Principal:
    """The caller, after the unit of work: Litestar resolves independent dependencies
    concurrently in a task group, which would cost every request two tasks."""
    return await _authenticate(request, uow)


async def provide_principal_alone(request: Request[Any, Any, State]) -> Principal:
    """The caller, for a handler that opens no unit of work (`READ_POOL`)."""
    return await _authenticate(request, None)


async def _authenticate(request: Request[Any, Any, State], uow: UnitOfWork | None) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise NotAuthenticated("Send your API key as `Authorization: Bearer <key>`.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("The Authorization header must be `Bearer <key>`.")
    key_hash = key_hash_of(token.strip())
    state = request.app.state
    cache: PrincipalCache | None = getattr(state, "principal_cache", None)
    cached = cache.get(key_hash) if cache is not None else None
    if cached is not None:
        principal, last_used_at = cached.principal, cached.last_used_at
    else:
        # A miss (or a cache not in force): one SELECT, in the request's unit of work or,
        # without one, in a read session of its own.
        generation = cache.generation if cache is not None else 0
        if uow is not None:
            principal, last_used_at = await AccountsService(uow).authenticate_hash(key_hash)
        else:
            async with _read_session_factory(state)() as session:
                principal, last_used_at = await AccountsService(
                    ReadOnlyUnitOfWork(session)
                ).authenticate_hash(key_hash)
        if cache is not None:
            cache.put(key_hash, principal, last_used_at, generation=generation)
    # The last-used time, kept to the minute, is written by a short transaction of its
    # own only when due, so reads — which never commit — still record it without a write
    # on every request.
    now = dt.datetime.now(dt.UTC)
    if last_use_due(last_used_at, now):
        # Hand back the request's connection (it holds only the key look-up) first: a
        # request holding one connection while waiting for a second deadlocks the pool
        # when a burst of pool-size requests with due keys arrives (the hot-SKU benchmark
        # saw every such request time out with 500 after 30 s).
        if uow is not None:
            await uow.rollback()
        async with state.session_factory() as session:
            touch = UnitOfWork(session)
            await AccountsService(touch).record_key_use(principal.api_key_id)
            await touch.commit()
        if cache is not None:
            cache.mark_used(key_hash, now)
    return principal


def read_pool(state: State) -> ReadPool:
    """The process's `ReadPool` (opened by the app's lifespan)."""
    pool: ReadPool = state.read_pool
    return pool


async def announce_key_revoked(state: State, api_key_id: uuid.UUID) -> None:
    """After a revocation's commit: drop the key here at once and tell every process.

    A failed publish is logged, not raised (the revocation is committed), and takes at
    most the Redis timeout: processes that still hold the key are then cut off from Redis
    too, so they stop trusting their cache once their probe goes unanswered (a stalled
    Redis) or at once (a lost connection), or drop the key within the cache's TTL.
    """
    cache: PrincipalCache | None = getattr(state, "principal_cache", None)
    if cache is not None:
        cache.invalidate_key(api_key_id)
    redis = getattr(state, "redis", None)
    if redis is None:
        return
    settings = getattr(state, "settings", None)
    try:
        async with asyncio.timeout(settings.redis_timeout_seconds if settings else 2.0):
            await publish_invalidation(redis, Invalidation(api_key_id=api_key_id))
    except Exception as exc:
        log.warning("principal_cache_publish_failed", api_key_id=str(api_key_id), error=repr(exc))


# Explicit dependency markers for handler signatures (Litestar 3 drops inference).
UoW: TypeAlias = NamedDependency[UnitOfWork]
Caller: TypeAlias = NamedDependency[Principal]
# `dependencies=READ_POOL` on a handler that reads only through the `ReadPool` (its
# `state`): the caller is found without opening a unit of work.
READ_POOL = {"principal": Provide(provide_principal_alone)}
