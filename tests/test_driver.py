"""The unit of work's connection at the driver (`marketplace.driver`): the same
transaction as the session, and the failures SQLAlchemy would have raised."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import Organization
from marketplace.db import UnitOfWork
from marketplace.driver import DriverStatement
from marketplace.listings.models import Listing
from marketplace.outages import database_unavailable

_ADD = DriverStatement(
    text(
        "INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone, "
        "vat_registered) VALUES (CAST(:id AS uuid), 'kitchen', :name, :slug, '35.76', "
        "'Mojokerto', 'Asia/Jakarta', false) RETURNING id"
    )
)
_XACT = DriverStatement(text("SELECT pg_current_xact_id()"))


async def _exists(factory: async_sessionmaker[AsyncSession], org_id: uuid.UUID) -> bool:
    async with factory() as session:
        found = await session.scalar(
            text("SELECT count(*) FROM organizations WHERE id = :id"), {"id": org_id}
        )
        return bool(found)


def _org(org_id: uuid.UUID) -> dict[str, object]:
    return {"id": org_id, "name": f"Dapur {org_id.hex[:6]}", "slug": f"d-{org_id.hex}"}


async def test_driver_statements_are_the_unit_of_works_transaction(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kept, undone = uuid.uuid4(), uuid.uuid4()
    async with session_factory() as session:
        uow = UnitOfWork(session)
        driver = await uow.driver()
        [row] = await driver.fetch(_ADD, _org(kept))
        assert row[0] == kept
        [(xact,)] = await driver.fetch(_XACT)
        assert xact == await session.scalar(text("SELECT pg_current_xact_id()"))
        # The session sees the driver's write before the commit: one transaction.
        assert await session.scalar(
            text("SELECT count(*) FROM organizations WHERE id = :id"), {"id": kept}
        )
        await uow.commit()
    assert await _exists(session_factory, kept)

    async with session_factory() as session:
        uow = UnitOfWork(session)
        await (await uow.driver()).fetch(_ADD, _org(undone))
        await uow.rollback()
    assert not await _exists(session_factory, undone)


async def test_a_refused_statement_is_sqlalchemys_integrity_error_and_changes_nothing(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    org_id = uuid.uuid4()
    async with session_factory() as session:
        uow = UnitOfWork(session)
        driver = await uow.driver()
        await driver.fetch(_ADD, _org(org_id))
        with pytest.raises(IntegrityError) as refused:
            await driver.fetch(_ADD, _org(org_id))
        assert not database_unavailable(refused.value)
        await uow.rollback()
    assert not await _exists(session_factory, org_id)


async def test_a_connection_cut_under_a_statement_is_an_outage_and_is_discarded(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        uow = UnitOfWork(session)
        driver = await uow.driver()
        with pytest.raises(DBAPIError) as cut:
            await driver.fetch(
                DriverStatement(text("SELECT pg_terminate_backend(pg_backend_pid())"))
            )
        assert database_unavailable(cut.value)
        assert cut.value.connection_invalidated
        await uow.rollback()
    # The pool hands out a working connection next.
    async with session_factory() as session:
        assert await session.scalar(text("SELECT 1")) == 1


async def test_a_connection_gone_before_its_transaction_began_is_an_outage(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The driver begins the transaction itself (SQLAlchemy's adapter begins lazily): a
    failure there is SQLAlchemy's DBAPIError too, never the adapter's own exception."""
    async with session_factory() as session:
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        async with session_factory() as other:
            await other.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": raw.get_server_pid()}
            )
        await asyncio.sleep(0.2)
        with pytest.raises(DBAPIError) as gone:
            await UnitOfWork(session).driver()
        assert database_unavailable(gone.value)


def test_a_statement_whose_parameters_need_sqlalchemys_processing_is_refused() -> None:
    # `tiers` is JSONB (serialized by SQLAlchemy); `kind` an enum column (validated).
    with pytest.raises(TypeError, match="bind processing"):
        _ = DriverStatement(insert(Listing).values(tiers=[{"min_quantity": 1}])).sql
    with pytest.raises(TypeError, match="bind processing"):
        _ = DriverStatement(insert(Organization).values(kind="kitchen")).sql
