"""A kitchen page view that only reads opens no transaction and sends few statements: the
page session read in autocommit, the person with their membership in one query, the
unit of work READ_ONLY (#19 item 7). With any of them undone, the counts here rise."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support import Actors
from tests.web.journey import kitchen_journey
from tests.web.people import PASSWORD
from tests.web.test_journey import pages
from tests.web.test_pages import sign_in

__all__ = ["pages"]


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[dict[str, list[str]]]:
    """What the app's engine sends to PostgreSQL: its statements (SQLAlchemy's events),
    and the BEGIN and ROLLBACK asyncpg sends for it (its query log: SQLAlchemy's `begin`
    event fires on an autocommit connection too, where nothing is sent)."""
    sent: dict[str, list[str]] = {"statements": [], "transactions": []}

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        sent["statements"].append(sql)

    def log(query: Any) -> None:
        sent["transactions"].append(query.query)

    def checkout(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(log)

    def checkin(dbapi_connection: Any, *_: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.driver_connection.remove_query_logger(log)

    pool = engine.sync_engine.pool
    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)


async def test_a_reading_page_view_opens_no_transaction(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    journey = await kitchen_journey(pages, actors, session_factory)
    pages.headers.pop("Authorization", None)
    await sign_in(pages, journey.phone, PASSWORD)
    engine: AsyncEngine = pages.app.state.engine
    shop = f"/belanja?q={journey.product_name}&wilayah=semua"
    # (page, statements through the engine): the session, the person with the membership,
    # then the page's own (the offers' sellers; the offers themselves are on the read pool).
    expected = {shop: 3, "/keranjang": 2, "/pesanan": 3}
    for path, statements in expected.items():
        assert (await pages.get(path)).status_code == 200  # warm: the session is known
        with counted(engine) as sent:
            answer = await pages.get(path)
            await asyncio.sleep(0.05)  # asyncpg calls its query loggers soon, not at once
        assert answer.status_code == 200, answer.text
        assert sent["transactions"] == [], (path, sent)
        assert len(sent["statements"]) == statements, (path, sent["statements"])
