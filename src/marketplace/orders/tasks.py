"""arq jobs of the orders context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog

from marketplace import clock
from marketplace.db import unit_of_work
from marketplace.orders.standing import StandingOrderService

log = structlog.get_logger(__name__)

SCHEDULE_JOB = "orders.schedule_standing_orders"
MATERIALIZE_JOB = "orders.materialize_standing_order"


async def schedule_standing_orders(ctx: dict[str, Any]) -> int:
    """Cron: enqueue one job per standing order due tomorrow (in the kitchen's zone).

    Hourly and at the worker's start, so a kitchen in any time zone gets its H-1 order
    early in its day and a restarted worker catches up at once; the job id (template +
    date) and the unique (template, date) key make repeats harmless. A date that could not
    be placed is tried again each hour (its job id is free again once its result expires).
    """
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        due = await StandingOrderService(uow).due(clock.now())
    for standing_id, delivery_date in due:
        await ctx["jobs"].enqueue(
            MATERIALIZE_JOB,
            str(standing_id),
            delivery_date.isoformat(),
            job_id=f"{MATERIALIZE_JOB}:{standing_id}:{delivery_date.isoformat()}",
        )
    return len(due)


async def materialize_standing_order(
    ctx: dict[str, Any], standing_id: str, delivery_date: str
) -> str | None:
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        order_id = await StandingOrderService(uow).materialize(
            uuid.UUID(standing_id), dt.date.fromisoformat(delivery_date)
        )
        await uow.commit()
    log.info("standing_order_materialized", standing_order_id=standing_id, order_id=str(order_id))
    return str(order_id) if order_id else None
