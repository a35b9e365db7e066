"""Litestar dependencies every controller uses: the unit of work and the caller."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from marketplace.accounts.domain import Principal
from marketplace.accounts.service import AccountsService
from marketplace.db import UnitOfWork
from marketplace.errors import NotAuthenticated
from marketplace.jobs import ArqJobQueue


async def provide_uow(state: State) -> AsyncGenerator[UnitOfWork, None]:
    async with state.session_factory() as session:
        uow = UnitOfWork(session, ArqJobQueue(state.redis))
        try:
            yield uow
        finally:
            if not uow.committed:
                await uow.rollback()


async def provide_principal(
    request: Request[Any, Any, State], uow: NamedDependency[UnitOfWork]
) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise NotAuthenticated("Send your API key as `Authorization: Bearer <key>`.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("The Authorization header must be `Bearer <key>`.")
    # The key is read in the request's own transaction (one SELECT). Its last-used time,
    # kept to the minute, is written by a short transaction of its own only when due, so
    # reads — which never commit — still record it without a write on every request.
    principal, due = await AccountsService(uow).authenticate(token.strip())
    if due:
        async with request.app.state.session_factory() as session:
            touch = UnitOfWork(session)
            await AccountsService(touch).record_key_use(principal.api_key_id)
            await touch.commit()
    return principal


# Explicit dependency markers for handler signatures (Litestar 3 drops inference).
UoW: TypeAlias = NamedDependency[UnitOfWork]
Caller: TypeAlias = NamedDependency[Principal]
