"""The read-only unit of work (`dependencies=READ_ONLY`): no transaction, and no writes."""

from __future__ import annotations

import pytest
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.accounts.models import Organization
from marketplace.db import ReadOnlyUnitOfWork
from marketplace.dependencies import provide_read_uow


async def test_reads_run_without_a_transaction_and_writes_are_refused(
    engine: AsyncEngine,
) -> None:
    state = State({"engine": engine})
    reads = provide_read_uow(state)
    uow = await anext(reads)
    try:
        assert isinstance(uow, ReadOnlyUnitOfWork)
        # Autocommit: no transaction is open around the statement.
        in_transaction = await uow.session.scalar(
            text("SELECT now() <> statement_timestamp() OR now() <> clock_timestamp()")
        )
        assert in_transaction is not None
        xact = await uow.session.scalar(text("SELECT pg_current_xact_id_if_assigned()"))
        assert xact is None
        uow.session.add(
            Organization(kind="kitchen", name="x", slug="x", region_code="35", city="c")
        )
        with pytest.raises(RuntimeError, match="cannot write"):
            await uow.session.flush()
        with pytest.raises(RuntimeError, match="cannot commit"):
            await uow.commit()
    finally:
        await reads.aclose()
