"""The ORM paths over active listings (`active_of_product`, the catalog feed) send
`status = 'active'` as a literal, never as a bound value: on a prepared statement's
generic plan (PostgreSQL's choice after five runs) only the literal lets the planner
use the partial indexes on active listings. Catalogue search is held to it by
`tests/api/test_listing_search_statements.py`'s statements."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.listings.repository import ListingRepository


@contextmanager
def sent(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (SQL text, parameters) the engine sends while the block runs."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        statements.append((sql, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def values(parameters: Any) -> list[Any]:
    if isinstance(parameters, dict):
        return list(parameters.values())
    return list(parameters or ())


async def test_active_listings_are_asked_for_with_a_literal_status(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        listings = ListingRepository(session)
        with sent(engine) as statements:
            await listings.active_of_product(uuid.uuid4())
            await listings.catalog_feed(after=None, limit=5)
            await listings.catalog_feed(after=uuid.uuid4(), limit=5)
        reads = [(sql, p) for sql, p in statements if "FROM listings" in sql]
        assert len(reads) == 3, statements
        for sql, parameters in reads:
            assert "listings.status = 'active'" in sql, sql
            assert "active" not in values(parameters), (sql, parameters)

        # What the literal is for: the generic plan of `active_of_product` can take a
        # partial index of active listings by product (seq scans off: the table is small);
        # with a bound status none of them matches.
        [(sql, _)] = [(s, p) for s, p in reads if "FOR UPDATE" in s]
        raw = (await (await session.connection()).get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("SET LOCAL enable_seqscan = off")
        await raw.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await raw.execute(f"PREPARE active_of_product(uuid) AS {sql}")
        plan = "\n".join(
            row[0]
            for row in await raw.fetch(f"EXPLAIN EXECUTE active_of_product('{uuid.uuid4()}')")
        )
        # (an index or a bitmap scan, as the table's size and statistics make it)
        assert "ix_listings_active_" in plan, plan
        await raw.execute("DEALLOCATE active_of_product")
        await session.rollback()
