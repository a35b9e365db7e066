"""A database outage on the pages is a 503 (never a 500, never a hang), sign-in included."""

from __future__ import annotations

import socket

import msgspec
from litestar.testing import AsyncTestClient

from marketplace.app import create_app
from marketplace.settings import Settings


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_pages_answer_503_while_the_database_is_unreachable(settings: Settings) -> None:
    refused = f"postgresql+asyncpg://postgres@127.0.0.1:{_unused_port()}/nothing"
    app = create_app(msgspec.structs.replace(settings, database_url=refused))
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        # The sign-in form needs no database; its session can't be kept (logged), so the
        # form's token is stale and sending it meets the outage.
        page = await client.get("/masuk")
        assert page.status_code == 200
        client.cookies.set("sesi", "a" * 64)
        answer = await client.post(
            "/masuk", data={"csrf_token": "x", "phone": "081234567890", "password": "p"}
        )
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert (await client.get("/hari-ini", follow_redirects=False)).status_code == 503
