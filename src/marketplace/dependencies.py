"""Litestar dependencies every controller uses: the unit of work and the caller.

Wiring only: each provider takes what it needs from the app's state and calls into
`marketplace.db` (units of work) or `marketplace.accounts.authentication` (the caller).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, TypeAlias

import structlog
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.authentication import Authenticator, KeyRevocations
from marketplace.accounts.domain import Principal
from marketplace.db import ReadOnlyUnitOfWork, UnitOfWork, create_read_session_factory
from marketplace.jobs import ArqJobQueue
from marketplace.rate_limits import AUTHENTICATED
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


def _read_session_factory(state: State) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] | None = getattr(state, "read_session_factory", None)
    if factory is None:
        factory = create_read_session_factory(state.engine)
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
    principal = await _authenticator(request.app.state).authenticate(
        request.headers.get("authorization"), uow
    )
    request.scope[AUTHENTICATED] = True  # type: ignore[literal-required]
    return principal


async def provide_principal_alone(request: Request[Any, Any, State]) -> Principal:
    """The caller, for a handler that opens no unit of work (`READ_POOL`)."""
    principal = await _authenticator(request.app.state).authenticate(
        request.headers.get("authorization"), None
    )
    request.scope[AUTHENTICATED] = True  # type: ignore[literal-required]
    return principal


def _authenticator(state: State) -> Authenticator:
    return Authenticator(
        sessions=state.session_factory,
        read_sessions=_read_session_factory(state),
        cache=getattr(state, "principal_cache", None),
    )


def read_pool(state: State) -> ReadPool:
    """The process's `ReadPool` (opened by the app's lifespan)."""
    pool: ReadPool = state.read_pool
    return pool


def key_revocations(state: State) -> KeyRevocations:
    """Where a revoking use case announces the key: this process's cache and Redis."""
    settings = getattr(state, "settings", None)
    return KeyRevocations(
        getattr(state, "principal_cache", None),
        getattr(state, "redis", None),
        publish_timeout=settings.redis_timeout_seconds if settings else 2.0,
    )


# Explicit dependency markers for handler signatures (Litestar 3 drops inference).
UoW: TypeAlias = NamedDependency[UnitOfWork]
Caller: TypeAlias = NamedDependency[Principal]
# `dependencies=READ_POOL` on a handler that reads only through the `ReadPool` (its
# `state`): the caller is found without opening a unit of work.
READ_POOL = {"principal": Provide(provide_principal_alone)}
