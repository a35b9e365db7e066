"""A write handler that forgets `await uow.commit()` cannot answer success over lost writes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from litestar import Litestar, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.db import create_engine, create_session_factory
from marketplace.dependencies import UoW, provide_uow
from marketplace.http import EXCEPTION_HANDLERS
from marketplace.settings import Settings

MARK = "forgotten-commit-probe"
# Handled already, so no sweeper ever picks the probe rows up.
INSERT_PROBE = text(
    "INSERT INTO outbox_events (id, topic, payload, attempts, handled_at)"
    " VALUES (:id, :type, '{}'::jsonb, 0, now())"
)


@post("/forgetful", status_code=201)
async def forgetful(uow: UoW, data: JSONBody[dict[str, Any]]) -> dict[str, str]:
    await uow.session.execute(
        INSERT_PROBE,
        {"id": uuid.UUID(data["id"]), "type": MARK},
    )
    return {"id": data["id"]}


@post("/careful", status_code=201)
async def careful(uow: UoW, data: JSONBody[dict[str, Any]]) -> dict[str, str]:
    await uow.session.execute(
        INSERT_PROBE,
        {"id": uuid.UUID(data["id"]), "type": MARK},
    )
    await uow.commit()
    return {"id": data["id"]}


@post("/preview", status_code=200)
async def preview(uow: UoW) -> dict[str, int]:
    """A POST that only reads (like an order preview) needs no commit."""
    value = await uow.session.scalar(
        text("SELECT count(*) FROM outbox_events WHERE topic = :t"), {"t": MARK}
    )
    return {"count": int(value or 0)}


def probe_app(settings: Settings) -> Litestar:
    """The real `provide_uow` over an engine of the app's own (made on the app's loop)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        assert settings.database_url is not None
        engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
        app.state.session_factory = create_session_factory(engine)
        try:
            yield
        finally:
            await engine.dispose()

    return Litestar(
        route_handlers=[forgetful, careful, preview],
        dependencies={"uow": Provide(provide_uow)},
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        state=State({"settings": settings, "redis": None}),
    )


async def stored(session_factory: async_sessionmaker[AsyncSession], id_: str) -> bool:
    async with session_factory() as session:
        found = await session.scalar(
            text("SELECT count(*) FROM outbox_events WHERE id = :id"), {"id": uuid.UUID(id_)}
        )
    return bool(found)


@pytest.fixture
async def outbox_probe_cleanup(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[None]:
    yield
    async with session_factory() as session:
        await session.execute(text("DELETE FROM outbox_events WHERE topic = :t"), {"t": MARK})
        await session.commit()


@pytest.mark.usefixtures("outbox_probe_cleanup")
async def test_a_forgotten_commit_fails_the_request_in_development(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    app = probe_app(settings)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        lost = str(uuid.uuid4())
        response = await client.post("/forgetful", json={"id": lost})
        assert response.status_code == 500
        assert not await stored(session_factory, lost)

        kept = str(uuid.uuid4())
        assert (await client.post("/careful", json={"id": kept})).status_code == 201
        assert await stored(session_factory, kept)

        assert (await client.post("/preview")).status_code == 200


@pytest.mark.usefixtures("outbox_probe_cleanup")
async def test_a_forgotten_commit_is_logged_in_production(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    capsys: pytest.CaptureFixture[str],
) -> None:
    import msgspec
    import structlog.testing

    production = msgspec.structs.replace(
        settings,
        environment="production",
        stripe_api_key="sk_test_forgotten_commit",
        stripe_webhook_secret="whsec_forgotten_commit",
    )
    app = probe_app(production)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        with structlog.testing.capture_logs() as logs:
            response = await client.post("/forgetful", json={"id": str(uuid.uuid4())})
    assert response.status_code == 201
    assert [entry["event"] for entry in logs if entry["log_level"] == "error"] == [
        "unit_of_work_commit_forgotten"
    ]
    assert logs[-1]["route"] == "/forgetful"
