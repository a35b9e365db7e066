"""The pool hands out no connection the server already closed, without a pre-ping."""

from __future__ import annotations

import asyncio

import msgspec
from litestar.testing import AsyncTestClient
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.app import create_app
from marketplace.db import create_engine
from marketplace.settings import Settings
from tests.support import Actors


async def test_connections_closed_by_the_server_are_replaced_on_checkout(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    url = settings.database_url
    engine = create_engine(url, pool_size=4, max_overflow=0)
    try:
        pids: list[int] = []

        all_out = asyncio.Barrier(5)

        async def hold_one(release: asyncio.Event) -> None:
            async with engine.connect() as connection:
                pids.append(
                    (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                )
                await all_out.wait()
                await release.wait()

        release = asyncio.Event()
        holders = [asyncio.create_task(hold_one(release)) for _ in range(4)]
        await all_out.wait()  # four distinct connections are checked out at once
        release.set()
        await asyncio.gather(*holders)  # all four are back in the pool, idle

        async with create_engine(url).connect() as killer:
            killed = await killer.execute(
                text(
                    "SELECT count(*) FROM unnest(CAST(:pids AS int[])) p "
                    "WHERE pg_terminate_backend(p)"
                ),
                {"pids": pids},
            )
            assert killed.scalar_one() == 4
        await asyncio.sleep(0.2)  # the server's close reaches each pooled socket

        async def new_pid() -> int:
            async with engine.connect() as connection:
                return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())

        # Every request after the kill succeeds, on new backends.
        fresh = await asyncio.gather(*(new_pid() for _ in range(4)))
        assert not set(fresh) & set(pids)
    finally:
        await engine.dispose()


async def test_an_exhausted_pool_answers_503_with_retry_after(
    settings: Settings, actors: Actors
) -> None:
    """A request that can't get a connection within the pool timeout is told to retry,
    not given a 500."""
    cramped = msgspec.structs.replace(
        settings,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_seconds=0.2,
        auth_cache_ttl_seconds=0,
    )
    kitchen = await actors.org("kitchen", "buyer")
    app = create_app(cramped)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        engine = app.state.engine
        async with engine.connect():  # the pool's only connection, held
            response = await client.get("/v1/listings", headers=kitchen.headers)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert response.json()["code"] == "service_unavailable"


async def test_a_refused_connection_attempt_answers_503(
    settings: Settings, actors: Actors, engine: AsyncEngine
) -> None:
    """The server refusing a new connection (here: a role's connection limit, SQLSTATE
    53300; in the battery: backends terminated while connecting, 57P01) is an outage to
    retry, not a 500."""
    kitchen = await actors.org("kitchen", "buyer")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'no_room') "
                "THEN CREATE ROLE no_room LOGIN CONNECTION LIMIT 0; END IF; END $$"
            )
        )
    assert settings.database_url is not None
    refused = msgspec.structs.replace(
        settings,
        database_url=make_url(settings.database_url)
        .set(username="no_room")
        .render_as_string(hide_password=False),
        auth_cache_ttl_seconds=0,
    )
    app = create_app(refused)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        response = await client.get("/v1/listings", headers=kitchen.headers)
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service_unavailable"
