"""The pages' sessions, kept server-side in PostgreSQL (a Litestar `Store`).

The cookie holds only a random key; what a session says (who signed in, for which
organization) stays here, so signing out or expiry ends it on the server. Each call is a
short transaction of its own: the session is read before a handler's unit of work opens
and written after it has closed. A database outage while reading surfaces as the engine's
errors, which the app answers with 503; while writing (the response has started) it is
logged, and the next request meets it.
"""

from __future__ import annotations

import datetime as dt

import structlog
from litestar.stores.base import Store
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.repository import WebSessionRepository
from marketplace.outages import database_unavailable

log = structlog.get_logger(__name__)


def _expiry(expires_in: int | dt.timedelta | None) -> dt.datetime | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, dt.timedelta) else expires_in
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


class PostgresSessionStore(Store):
    def __init__(self, sessions: async_sessionmaker[AsyncSession] | None = None) -> None:
        # Bound by the app's lifespan, once the engine exists.
        self.sessions = sessions

    def _factory(self) -> async_sessionmaker[AsyncSession]:
        if self.sessions is None:
            raise RuntimeError("The session store is used before the app started.")
        return self.sessions

    async def set(
        self, key: str, value: str | bytes, expires_in: int | dt.timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        try:
            async with self._factory()() as session:
                await WebSessionRepository(session).put(key, data, _expiry(expires_in))
                await session.commit()
        except Exception as exc:
            # Written as the response starts: too late to answer 503 instead. The visitor's
            # next request finds no session (signed out, the form's token stale) and the
            # database being down answers that one with 503.
            if not database_unavailable(exc):
                raise
            log.warning("page_session_not_stored", error=repr(exc))

    async def get(self, key: str, renew_for: int | dt.timedelta | None = None) -> bytes | None:
        now = dt.datetime.now(dt.UTC)
        async with self._factory()() as session:
            repository = WebSessionRepository(session)
            found = await repository.get(key, now)
            if found is None:
                return None
            value = found.value
            if renew_for is not None and found.expires_at is not None:
                await repository.put(key, value, _expiry(renew_for))
                await session.commit()
            return value

    async def delete(self, key: str) -> None:
        async with self._factory()() as session:
            await WebSessionRepository(session).delete(key)
            await session.commit()

    async def delete_all(self) -> None:
        async with self._factory()() as session:
            await WebSessionRepository(session).delete_all()
            await session.commit()

    async def delete_expired(self) -> None:
        async with self._factory()() as session:
            await WebSessionRepository(session).delete_expired(dt.datetime.now(dt.UTC))
            await session.commit()

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        now = dt.datetime.now(dt.UTC)
        async with self._factory()() as session:
            found = await WebSessionRepository(session).get(key, now)
        if found is None or found.expires_at is None:
            return None
        return int((found.expires_at - now).total_seconds())
