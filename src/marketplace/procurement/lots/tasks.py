"""arq jobs of Bulog lots.

- `procurement.close_due_lots` (cron): close every open lot past its cut-off or full,
  each into a purchase order to its Bulog branch. Lots are re-checked under their row
  lock, so overlapping runs on several workers close each lot once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marketplace.db import unit_of_work
from marketplace.procurement.lots.service import LotService

CLOSE_DUE_LOTS_JOB = "procurement.close_due_lots"


async def close_due_lots(ctx: dict[str, Any], *, now: dt.datetime | None = None) -> int:
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        closed = await LotService(uow).close_due(now)
        await uow.commit()
    return closed
