"""arq worker composition root. Nothing imports this module.

Jobs are thin: they open a unit of work, call one service, commit. Job names are
`"<domain>.<verb>"`; arguments are primitive ids.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from arq import cron
from arq.connections import RedisSettings
from arq.worker import func

from marketplace import outbox
from marketplace.consignment import sales as consignment_sales
from marketplace.consignment import tasks as consignment_tasks
from marketplace.db import create_engine, create_session_factory, unit_of_work
from marketplace.jobs import ArqJobQueue
from marketplace.logs import configure_logging
from marketplace.orders import tasks as orders_tasks
from marketplace.payments import tasks as payments_tasks
from marketplace.procurement import tasks as procurement_tasks
from marketplace.settings import load_settings
from marketplace.webhooks import tasks as webhooks_tasks

log = structlog.get_logger(__name__)


def event_handlers() -> outbox.EventHandlers:
    """Every domain's outbox event handlers, registered in one place."""
    handlers = outbox.EventHandlers()
    handlers.register("*", webhooks_tasks.fan_out_event)
    handlers.register("order.cancelled", payments_tasks.on_order_cancelled)
    handlers.register(consignment_sales.LEG_DELIVERED, consignment_sales.on_leg_delivered)
    return handlers


async def startup(ctx: dict[str, Any]) -> None:
    settings = ctx.get("settings") or load_settings()
    ctx["settings"] = settings
    configure_logging(settings.log_level, settings.log_format)
    assert settings.database_url is not None
    engine = create_engine(
        settings.database_url,
        pool_size=5,
        max_overflow=5,
        connect_timeout=settings.db_connect_timeout_seconds,
    )
    ctx["engine"] = engine
    ctx["session_factory"] = create_session_factory(engine)
    ctx["jobs"] = ArqJobQueue(ctx["redis"])
    ctx.setdefault("handlers", event_handlers())


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()


async def handle_outbox_event(ctx: dict[str, Any], event_id: str) -> bool:
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        return await outbox.handle_event(uow, uuid.UUID(event_id), ctx["handlers"])


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        return await outbox.sweep(uow)


FUNCTIONS = [
    func(handle_outbox_event, name=outbox.HANDLE_JOB, max_tries=10),
    func(orders_tasks.materialize_standing_order, name=orders_tasks.MATERIALIZE_JOB, max_tries=5),
    # keep_result=0: the (delivery, attempt) job id dedupes only while queued or running.
    func(
        webhooks_tasks.deliver,
        name=webhooks_tasks.DELIVER_JOB,
        max_tries=3,
        timeout=60,
        keep_result=0,
    ),
    *payments_tasks.FUNCTIONS,
]
CRON_JOBS = [
    cron(procurement_tasks.close_due_lots, name=procurement_tasks.CLOSE_DUE_LOTS_JOB, second={30}),
    cron(consignment_tasks.flag_expired, name=consignment_tasks.FLAG_EXPIRED_JOB, minute={5}),
    cron(consignment_tasks.settle_due, name=consignment_tasks.SETTLE_DUE_JOB, minute={20}),
    cron(sweep_outbox, name=outbox.SWEEP_JOB, second={0, 15, 30, 45}, run_at_startup=True),
    cron(
        webhooks_tasks.retry_due,
        name=webhooks_tasks.RETRY_DUE_JOB,
        second=set(range(0, 60, 5)),
        run_at_startup=True,
    ),
    *payments_tasks.CRON_JOBS,
]


def redis_settings() -> RedisSettings:
    settings = load_settings()
    assert settings.redis_url is not None, "REDIS_URL must be set for the worker"
    return RedisSettings.from_dsn(settings.redis_url)


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
    keep_result = 3600
    max_jobs = 20
    job_timeout = 300
