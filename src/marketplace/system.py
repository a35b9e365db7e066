"""Health endpoints: `/livez` (the process is up) and `/readyz` (it can serve requests).

Readiness is the database's alone: without PostgreSQL no request can be served, so the
process should get no traffic. Redis and the background worker are reported in the same
body but don't fail readiness: every request is served without them (jobs left
unqueued are re-enqueued by the sweepers once Redis is back), and taking every API
process out of service because the queue is away would turn a delay into an outage.
Watch `checks.redis` / `checks.worker` (or run `marketplace worker-health`) instead.
"""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from marketplace.jobs import read_heartbeat


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str]


class HealthController(Controller):
    tags = ["system"]
    include_in_schema = True

    @get(
        "/livez",
        operation_id="livez",
        description=(
            "Answers 200 as long as the process runs, without touching the database or "
            "Redis: for a liveness probe. Needs no API key. Use `/readyz` to know whether"
            " requests can be served."
        ),
        summary="The process is up",
        security=[{}],
    )
    async def livez(self) -> Health:
        return Health(status="ok", checks={})

    @get(
        "/readyz",
        operation_id="readyz",
        summary="The database is reachable (Redis and the worker are reported, not required)",
        description=(
            "200 while the database answers (`status` is `ok`, or `degraded` when Redis "
            "is unreachable or no worker has sent a heartbeat recently); 503 when the "
            "database does not. `checks.worker` is `ok`, `stale` (no heartbeat within "
            "three intervals) or `unknown` (Redis could not be asked)."
        ),
        security=[{}],
    )
    async def readyz(self, state: State) -> Response[Health]:
        checks = {"database": "ok", "redis": "ok", "worker": "ok"}
        try:
            async with asyncio.timeout(2):
                async with state.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            async with asyncio.timeout(2):
                heartbeat = await read_heartbeat(state.redis)
            if heartbeat is None:
                checks["worker"] = "stale"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
            checks["worker"] = "unknown"
        if checks["database"] != "ok":
            status, code = "unavailable", 503
        elif checks["redis"] != "ok" or checks["worker"] != "ok":
            status, code = "degraded", 200
        else:
            status, code = "ok", 200
        return Response(Health(status=status, checks=checks), status_code=code)
