"""arq jobs of the accounts context (registered in `worker.py`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marketplace.accounts.people import PeopleService
from marketplace.db import unit_of_work

SWEEP_JOB = "accounts.sweep_page_sessions"


async def sweep_page_sessions(ctx: dict[str, Any]) -> int:
    """Hourly: expired page sessions and stale sign-in failures go (rows removed)."""
    async with unit_of_work(ctx["session_factory"], ctx.get("jobs")) as uow:
        removed = await PeopleService(uow).sweep(dt.datetime.now(dt.UTC))
        await uow.commit()
    return removed
