"""Alembic environment: async engine, URL handed over by `marketplace.migrations_runner`."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from marketplace.db import create_engine
from marketplace.schema import metadata

config = context.config


def run_with(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    assert url, "no database URL given to alembic"
    engine = create_engine(url, pool_size=1, max_overflow=0)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_online())
