"""Run Alembic programmatically: `upgrade head`, autogenerate, and the drift check."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def revision(
    database_url: str, message: str, rev_id: str | None = None, head: str = "head"
) -> None:
    """Autogenerate a revision; with several heads, `head` names the one to build on."""
    command.revision(
        alembic_config(database_url),
        message=message,
        autogenerate=True,
        rev_id=rev_id,
        head=head,
        splice=head != "head",
    )


def schema_drift(database_url: str) -> list[object]:
    """Differences between the models and a database migrated to head (empty = none)."""
    from marketplace.db import create_engine
    from marketplace.schema import metadata

    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async def run() -> list[object]:
        engine = create_engine(database_url, pool_size=1, max_overflow=0)
        async with engine.connect() as connection:
            diff = await connection.run_sync(compare)
        await engine.dispose()
        return diff

    return asyncio.run(run())
