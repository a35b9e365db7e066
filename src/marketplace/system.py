"""Health endpoints: `/livez` (the process is up) and `/readyz` (dependencies reachable)."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from sqlalchemy import text


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str]


class HealthController(Controller):
    tags = ["system"]
    include_in_schema = True

    @get("/livez", operation_id="livez", summary="The process is up", security=[{}])
    async def livez(self) -> Health:
        return Health(status="ok", checks={})

    @get(
        "/readyz",
        operation_id="readyz",
        summary="Database and Redis are reachable",
        security=[{}],
    )
    async def readyz(self, state: State) -> Response[Health]:
        checks = {"database": "ok", "redis": "ok"}
        try:
            async with asyncio.timeout(2):
                async with state.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            async with asyncio.timeout(2):
                await state.redis.ping()
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return Response(
            Health(status="ok" if ok else "unavailable", checks=checks),
            status_code=200 if ok else 503,
        )
