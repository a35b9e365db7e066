"""arq jobs of the consignment context (registered in `worker.py`)."""

from __future__ import annotations

from typing import Any

from marketplace.consignment.service import ConsignmentService, now
from marketplace.consignment.settlement_service import SettlementService
from marketplace.db import unit_of_work

FLAG_EXPIRED_JOB = "consignment.flag_expired"
SETTLE_DUE_JOB = "consignment.settle_due"


async def flag_expired(ctx: dict[str, Any]) -> int:
    async with unit_of_work(ctx["session_factory"], ctx.get("jobs")) as uow:
        flagged = await ConsignmentService(uow).flag_expired()
        await uow.commit()
    return flagged


async def settle_due(ctx: dict[str, Any]) -> int:
    """Run the settlements whose agreement cycle has elapsed: one transaction per
    cooperative, so one cooperative's failure never holds back the others."""
    async with unit_of_work(ctx["session_factory"], ctx.get("jobs")) as uow:
        due = await SettlementService(uow).due()
    cutoff = now()
    for cooperative_id, consignor_ids in due.items():
        async with unit_of_work(ctx["session_factory"], ctx.get("jobs")) as uow:
            await SettlementService(uow).settle_due_for(cooperative_id, consignor_ids, cutoff)
            await uow.commit()
    return len(due)
