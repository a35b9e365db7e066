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


async def provide_principal(request: Request[Any, Any, State]) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise NotAuthenticated("Send your API key as `Authorization: Bearer <key>`.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("The Authorization header must be `Bearer <key>`.")
    # Authentication has its own short transaction so that the key's last-used time is
    # recorded even for reads, which never commit.
    state = request.app.state
    async with state.session_factory() as session:
        uow = UnitOfWork(session)
        principal = await AccountsService(uow).authenticate(token.strip())
        await uow.commit()
    return principal


# Explicit dependency markers for handler signatures (Litestar 3 drops inference).
UoW: TypeAlias = NamedDependency[UnitOfWork]
Caller: TypeAlias = NamedDependency[Principal]
