"""The read pool (`marketplace.read_pool`): read-only, and a lost connection is a retry or
a 503, never a raw driver error."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from marketplace.read_pool import ReadPool, ReadUnavailable, asyncpg_dsn
from marketplace.settings import Settings
from tests.support import Actors, assert_problem


def _refused_database_url() -> str:
    """A database URL on a local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nothing"


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[ReadPool]:
    assert settings.database_url is not None
    pool = ReadPool.for_database(
        settings.database_url,
        max_size=1,
        acquire_timeout=0.3,
        application_name="read-pool-test",
    )
    yield pool
    await pool.close()


async def _backend_of(admin: asyncpg.Connection, query_prefix: str) -> int:
    for _ in range(200):
        pid = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'read-pool-test' "
            "AND state = 'active' AND query LIKE $1",
            query_prefix + "%",
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.01)
    raise AssertionError("the read never started")


async def test_a_read_cut_off_by_the_server_runs_again_on_a_new_connection(
    one_connection: ReadPool, settings: Settings
) -> None:
    assert settings.database_url is not None
    admin = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        read = asyncio.create_task(
            one_connection.fetch("SELECT pg_backend_pid(), pg_sleep($1::float8)", [0.3])
        )
        first = await _backend_of(admin, "SELECT pg_backend_pid(), pg_sleep")
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        rows = await read
        assert rows[0][0] != first  # answered, by another backend
        # Idle connections the server closed are replaced the same way.
        idle = (await one_connection.fetch("SELECT pg_backend_pid()", []))[0][0]
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", idle)
        await asyncio.sleep(0.05)
        again = (await one_connection.fetch("SELECT pg_backend_pid()", []))[0][0]
        assert again != idle
    finally:
        await admin.close()


async def _pid(pool: ReadPool) -> int:
    return int((await pool.fetch("SELECT pg_backend_pid()", []))[0][0])


async def test_connections_are_reused_and_never_more_than_max_size(settings: Settings) -> None:
    assert settings.database_url is not None
    pool = ReadPool.for_database(settings.database_url, max_size=3, acquire_timeout=5)
    try:
        first = await _pid(pool)
        assert await _pid(pool) == first  # the idle connection, not a new one
        # An error the server reported leaves the connection in a known state: kept.
        with pytest.raises(asyncpg.UndefinedTableError):
            await pool.fetch("SELECT * FROM no_such_table", [])
        assert await _pid(pool) == first
        pids = await asyncio.gather(
            *(pool.fetch("SELECT pg_backend_pid(), pg_sleep(0.01)", []) for _ in range(60))
        )
        assert 1 <= len({rows[0][0] for rows in pids}) <= 3
    finally:
        await pool.close()


async def test_a_cancelled_read_frees_its_slot_and_its_connection_is_not_reused(
    one_connection: ReadPool,
) -> None:
    before = await _pid(one_connection)
    slow = asyncio.create_task(one_connection.fetch("SELECT pg_sleep(5)", []))
    await asyncio.sleep(0.1)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    # Within the 0.3 s acquire timeout: the slot is free, on a new connection (the old
    # one was mid-statement).
    assert await _pid(one_connection) != before


async def test_a_connection_idle_too_long_is_replaced(settings: Settings) -> None:
    assert settings.database_url is not None
    pool = ReadPool(
        asyncpg_dsn(settings.database_url),
        max_size=1,
        acquire_timeout=5,
        application_name="read-pool-test",
        max_idle_seconds=0.05,
    )
    try:
        first = await _pid(pool)
        await asyncio.sleep(0.1)
        assert await _pid(pool) != first
    finally:
        await pool.close()


async def test_a_pool_without_connections_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="DB_READ_POOL_SIZE=0"):
        ReadPool.for_database(_refused_database_url(), max_size=0, acquire_timeout=1)


async def test_no_database_is_read_unavailable_not_a_driver_error() -> None:
    pool = ReadPool.for_database(_refused_database_url(), max_size=1, acquire_timeout=2)
    try:
        with pytest.raises(ReadUnavailable, match="connection was lost"):
            await pool.fetch("SELECT 1", [])
    finally:
        await pool.close()


async def test_no_connection_free_in_time_is_read_unavailable(one_connection: ReadPool) -> None:
    busy = asyncio.create_task(one_connection.fetch("SELECT pg_sleep(1)", []))
    await asyncio.sleep(0.1)
    with pytest.raises(ReadUnavailable, match="came free in time"):
        await one_connection.fetch("SELECT 1", [])
    assert not busy.done()  # refused while the only connection was busy, not after
    await busy


async def test_nothing_can_be_written_through_it(one_connection: ReadPool) -> None:
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await one_connection.fetch("CREATE TABLE read_pool_must_not_write (id int)", [])
    # A broken statement is the caller's bug (500), not an outage (503).
    with pytest.raises(asyncpg.UndefinedTableError):
        await one_connection.fetch("SELECT * FROM no_such_table", [])


async def test_search_answers_503_when_the_read_pool_cannot_reach_the_database(
    client: AsyncTestClient[Litestar], app: Litestar, actors: Actors
) -> None:
    kitchen = await actors.org("kitchen", "buyer")
    unreachable = ReadPool.for_database(_refused_database_url(), max_size=1, acquire_timeout=2)
    working = app.state.read_pool
    app.state.read_pool = unreachable
    try:
        response = await client.get("/v1/listings", headers=kitchen.headers)
    finally:
        app.state.read_pool = working
        await unreachable.close()
    assert_problem(response, 503, "service_unavailable")
    assert response.headers["retry-after"] == "1"
    assert (await client.get("/v1/listings", headers=kitchen.headers)).status_code == 200
