"""The pages' session store writes a session only when the write would change something:
its data, or an expiry moved by more than the slack (every page view used to write)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import WebSession
from marketplace.accounts.session_store import EXPIRY_SLACK, PostgresSessionStore

DAY = 24 * 3600


async def stored(factory: async_sessionmaker[AsyncSession], key: str) -> bytes | None:
    async with factory() as session:
        value: bytes | None = await session.scalar(
            select(WebSession.value).where(WebSession.key == key)
        )
        return value


async def forget_behind_its_back(factory: async_sessionmaker[AsyncSession], key: str) -> None:
    async with factory() as session:
        await session.execute(delete(WebSession).where(WebSession.key == key))
        await session.commit()


async def test_an_unchanged_session_is_not_written_again(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    store = PostgresSessionStore(session_factory)
    key = f"store-{uuid.uuid4().hex}"
    await store.set(key, b'{"cart": 1}', expires_in=DAY)
    assert await store.get(key) == b'{"cart": 1}'
    await forget_behind_its_back(session_factory, key)
    await store.set(key, b'{"cart": 1}', expires_in=DAY)  # a page view that changed nothing
    assert await stored(session_factory, key) is None, "the unchanged session was written"
    await store.set(key, b'{"cart": 2}', expires_in=DAY)
    assert await stored(session_factory, key) == b'{"cart": 2}'


async def test_a_sliding_expiry_is_written_once_it_moved_by_the_slack(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    store = PostgresSessionStore(session_factory)
    key = f"store-{uuid.uuid4().hex}"
    await store.set(key, b"{}", expires_in=DAY)
    await forget_behind_its_back(session_factory, key)
    later = dt.timedelta(seconds=DAY) + EXPIRY_SLACK + dt.timedelta(seconds=1)
    await store.set(key, b"{}", expires_in=later)
    assert await stored(session_factory, key) == b"{}"


async def test_a_deleted_session_is_written_again_when_it_comes_back(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    store = PostgresSessionStore(session_factory)
    key = f"store-{uuid.uuid4().hex}"
    await store.set(key, b"{}", expires_in=DAY)
    await store.delete(key)
    await store.set(key, b"{}", expires_in=DAY)
    assert await stored(session_factory, key) == b"{}"
