"""arq jobs of the reports context (registered in `worker.py`)."""

from __future__ import annotations

from typing import Any

from marketplace.db import unit_of_work
from marketplace.reports.service import ReportService

FOLD_ROLLUP_JOB = "reports.fold_rollup"
# Every few seconds, so the rows the report reads beside the folded ones stay a handful.
FOLD_EVERY_SECONDS = 10


async def fold_rollup(ctx: dict[str, Any]) -> int:
    """Sum the writers' committed pending roll-up rows into the folded ones."""
    async with unit_of_work(ctx["session_factory"], ctx.get("jobs")) as uow:
        folded = await ReportService(uow).fold_rollup()
        await uow.commit()
    return folded
