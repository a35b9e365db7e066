"""The pages' sessions, kept server-side in PostgreSQL (a Litestar `Store`).

The cookie holds only a random key; what a session says (who signed in, for which
organization) stays here, so signing out or expiry ends it on the server. Each call is a
short transaction of its own: the session is read before a handler's unit of work opens
and written after it has closed. A read (every page view) runs in autocommit when the
store has read sessions: one SELECT, no BEGIN and ROLLBACK round trips around it. A
database outage while reading surfaces as the engine's errors, which the app answers
with 503; while writing (the response has started) it is logged, and the next request
meets it.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

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


# Litestar writes the session back after every response. A page view that changed
# nothing (most of them) skips that write, until the expiry it would slide has moved by
# this much: one write an hour per idle-but-active visitor instead of one per page.
EXPIRY_SLACK = dt.timedelta(hours=1)
# What this process last read or wrote per session key, to know a write would change
# nothing; bounded (oldest forgotten first), a forgotten key is simply written.
REMEMBERED_SESSIONS = 10_000


class PostgresSessionStore(Store):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None = None,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        # Bound by the app's lifespan, once the engine exists; `read_sessions` autocommit
        # (`db.create_read_session_factory`), else reads take a transaction too.
        self.sessions = sessions
        self.read_sessions = read_sessions
        self._known: OrderedDict[str, tuple[bytes, dt.datetime | None]] = OrderedDict()

    def _remember(self, key: str, value: bytes, expires_at: dt.datetime | None) -> None:
        self._known[key] = (value, expires_at)
        self._known.move_to_end(key)
        while len(self._known) > REMEMBERED_SESSIONS:
            self._known.popitem(last=False)

    def _unchanged(self, key: str, value: bytes, expires_at: dt.datetime | None) -> bool:
        known = self._known.get(key)
        if known is None or known[0] != value:
            return False
        if known[1] is None or expires_at is None:
            return known[1] is expires_at
        return expires_at - known[1] < EXPIRY_SLACK

    def _factory(self) -> async_sessionmaker[AsyncSession]:
        if self.sessions is None:
            raise RuntimeError("The session store is used before the app started.")
        return self.sessions

    async def set(
        self, key: str, value: str | bytes, expires_in: int | dt.timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        expires_at = _expiry(expires_in)
        if self._unchanged(key, data, expires_at):
            return
        try:
            async with self._factory()() as session:
                await WebSessionRepository(session).put(key, data, expires_at)
                await session.commit()
            self._remember(key, data, expires_at)
        except Exception as exc:
            # Written as the response starts: too late to answer 503 instead. The visitor's
            # next request finds no session (signed out, the form's token stale) and the
            # database being down answers that one with 503.
            if not database_unavailable(exc):
                raise
            log.warning("page_session_not_stored", error=repr(exc))

    async def get(self, key: str, renew_for: int | dt.timedelta | None = None) -> bytes | None:
        now = dt.datetime.now(dt.UTC)
        async with (self.read_sessions or self._factory())() as session:
            found = await WebSessionRepository(session).get(key, now)
        if found is None:
            return None
        value = found.value
        expires_at = found.expires_at
        if renew_for is not None and expires_at is not None:
            expires_at = _expiry(renew_for)
            async with self._factory()() as session:
                await WebSessionRepository(session).put(key, value, expires_at)
                await session.commit()
        self._remember(key, value, expires_at)
        return value

    async def delete(self, key: str) -> None:
        self._known.pop(key, None)
        async with self._factory()() as session:
            await WebSessionRepository(session).delete(key)
            await session.commit()

    async def delete_all(self) -> None:
        self._known.clear()
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
