"""A database that is down (stopped, restarting, refusing, silent) is an outage: 503 with
`Retry-After` on every path, never a 500 or a hang, and service resumes by itself once the
server is back. Against a real PostgreSQL of the test's own, stopped and started."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from reliability.servers import DrillPostgres
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from marketplace.app import create_app
from marketplace.db import create_engine, create_session_factory
from marketplace.outages import DatabaseUnavailable, database_unavailable
from marketplace.settings import Settings
from tests.catalog import create_listing, create_product
from tests.support import Actor, Actors, assert_problem

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def drill_postgres() -> Iterator[tuple[DrillPostgres, str]]:
    """A PostgreSQL server of this module's own (never the suite's shared one), with a
    migrated database."""
    with DrillPostgres() as server:
        yield server, server.database("outage")


def order(product_id: str) -> dict[str, Any]:
    return {
        "lines": [{"product_id": product_id, "quantity": 1}],
        "delivery": {"date": TOMORROW, "region_code": "35.76.02.1005", "address": "Dapur"},
    }


async def place(client: AsyncTestClient[Litestar], buyer: Actor, product_id: str) -> Any:
    headers = {**buyer.headers, "Idempotency-Key": uuid.uuid4().hex}
    return await client.post("/v1/orders", json=order(product_id), headers=headers)


def assert_unavailable(response: Any) -> None:
    assert_problem(response, 503, "service_unavailable")
    assert response.headers["retry-after"] == "1"


async def test_a_stopped_database_answers_503_and_serves_again_once_it_is_back(
    drill_postgres: tuple[DrillPostgres, str], settings: Settings
) -> None:
    server, url = drill_postgres
    # No principal cache: every request authenticates against the database.
    app = create_app(msgspec.structs.replace(settings, database_url=url, auth_cache_ttl_seconds=0))
    seeding = create_engine(url, pool_size=1, max_overflow=0)  # on the test's event loop
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        actors = Actors(client, create_session_factory(seeding))
        admin = await actors.platform_admin()
        product = await create_product(client, admin, price_caps=[])
        seller = await actors.org("cooperative", "seller", region_code="35.76.02.1005")
        await create_listing(client, seller, product["id"], stock=1_000)
        kitchen = await actors.org("kitchen", "buyer", region_code="35.76.02.1005")
        await seeding.dispose()
        assert (await place(client, kitchen, product["id"])).status_code == 201

        server.stop()  # its socket file is gone: connecting raises FileNotFoundError
        try:
            # Each path several times: the first meets the pooled connections the stop
            # closed, the next ones connect afresh to a server that isn't there.
            for _ in range(3):
                assert_unavailable(await place(client, kitchen, product["id"]))
                assert_unavailable(await client.get("/v1/orders", headers=kitchen.headers))
                assert_unavailable(await client.get("/v1/me", headers=kitchen.headers))
                # Catalogue search reads through the read pool.
                assert_unavailable(await client.get("/v1/listings", headers=kitchen.headers))
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"].startswith("error")
        finally:
            server.start()

        # Served again by the same app: no restart, no stale connection handed out.
        assert (await place(client, kitchen, product["id"])).status_code == 201
        assert (await client.get("/v1/listings", headers=kitchen.headers)).status_code == 200
        orders = (await client.get("/v1/orders", headers=kitchen.headers)).json()["items"]
        assert len(orders) == 2  # nothing was written during the outage
        assert (await client.get("/readyz")).status_code == 200


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_refused_tcp_connection_answers_503(settings: Settings) -> None:
    """Over TCP the stopped server is `ConnectionRefusedError` (no key is needed to meet it:
    looking the key up is the first query)."""
    refused = f"postgresql+asyncpg://postgres@127.0.0.1:{_unused_port()}/nothing"
    app = create_app(msgspec.structs.replace(settings, database_url=refused))
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        headers = {"Authorization": "Bearer mk_0_x"}
        assert_unavailable(await client.get("/v1/me", headers=headers))
        assert_unavailable(await client.get("/v1/listings", headers=headers))


async def test_a_server_that_never_answers_is_503_after_the_connect_timeout(
    settings: Settings,
) -> None:
    """A listening socket that accepts and then says nothing (a stopped process, a black
    hole): asyncpg would wait 60 s; the connect timeout makes it a prompt 503."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # connections complete in the backlog; nobody ever answers
        port = silent.getsockname()[1]
        app = create_app(
            msgspec.structs.replace(
                settings,
                database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nothing",
                db_connect_timeout_seconds=0.5,
            )
        )
        async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
            headers = {"Authorization": "Bearer mk_0_x"}
            assert_unavailable(await client.get("/v1/me", headers=headers))
            assert_unavailable(await client.get("/v1/listings", headers=headers))


def _wrapped(orig: BaseException, kind: type[DBAPIError] = DBAPIError) -> DBAPIError:
    """`orig` as SQLAlchemy's asyncpg adapter raises it: an adapter error chained to it."""
    adapted = Exception(str(orig))
    adapted.__cause__ = orig
    adapted.sqlstate = getattr(orig, "sqlstate", None)  # type: ignore[attr-defined]
    return kind("SELECT 1", {}, adapted)


@pytest.mark.parametrize(
    "exc",
    [
        FileNotFoundError(2, "No such file or directory"),
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.PostgresConnectionError("connection failure"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.InterfaceError("connection is closed"),
        DatabaseUnavailable("down"),
        _wrapped(asyncpg.CannotConnectNowError("the database system is starting up")),
        _wrapped(asyncpg.TooManyConnectionsError("too many")),
        _wrapped(ConnectionResetError(104, "reset")),
        _wrapped(Exception("server closed the connection"), OperationalError),
        DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
    ],
    ids=repr,
)
def test_what_counts_as_the_database_being_unavailable(exc: BaseException) -> None:
    assert database_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.UndefinedTableError('relation "x" does not exist'),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        _wrapped(asyncpg.UniqueViolationError("duplicate key"), IntegrityError),
        _wrapped(asyncpg.DataError("value out of range")),
        ValueError("not an outage"),
    ],
    ids=repr,
)
def test_bad_sql_and_bugs_are_not_outages(exc: BaseException) -> None:
    assert not database_unavailable(exc)


async def test_a_read_pool_read_on_a_stopped_server_is_read_unavailable(
    drill_postgres: tuple[DrillPostgres, str],
) -> None:
    from marketplace.read_pool import ReadPool, ReadUnavailable

    server, url = drill_postgres
    pool = ReadPool.for_database(url, max_size=1, acquire_timeout=2)
    try:
        assert (await pool.fetch("SELECT 1", []))[0][0] == 1
        server.stop()
        try:
            for _ in range(2):  # the pooled connection the stop closed, then none at all
                with pytest.raises(ReadUnavailable):
                    await pool.fetch("SELECT 1", [])
        finally:
            server.start()
        await asyncio.sleep(0)
        assert (await pool.fetch("SELECT 1", []))[0][0] == 1
    finally:
        await pool.close()
