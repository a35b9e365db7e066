"""The backlogs `/metrics` reports, read at scrape time (`marketplace.monitoring`).

Both read partial indexes (unhandled events; pending deliveries); failed deliveries are
counted over the last day only, so the count follows what is failing now.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_OUTBOX = text(
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) "
    "FROM outbox_events WHERE handled_at IS NULL"
)
_PENDING = text("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'")
_FAILED = text(
    "SELECT count(*) FROM webhook_deliveries "
    "WHERE state = 'failed' AND updated_at > now() - interval '24 hours'"
)


async def backlogs(conn: AsyncConnection) -> dict[str, Any]:
    unhandled, oldest = (await conn.execute(_OUTBOX)).one()
    return {
        "outbox_unhandled": int(unhandled),
        "outbox_oldest_seconds": float(oldest),
        "webhooks_pending": int((await conn.execute(_PENDING)).scalar_one()),
        "webhooks_failed_24h": int((await conn.execute(_FAILED)).scalar_one()),
    }
