"""arq worker composition root. Nothing imports this module.

Jobs are thin: they open a unit of work, call one service, commit. Job names are
`"<domain>.<verb>"`; arguments are primitive ids.

`run()` is the process (`marketplace worker`): arq's worker loop exits on the first
Redis error, so ours (`SurvivingWorker`) backs off and polls again instead, a worker
that can't even start (no Redis yet) is started again with backoff, and while the loop
polls it writes the heartbeat that `marketplace worker-health` and `/readyz` read.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import time
import uuid
from typing import Any, cast

import structlog
from arq import cron
from arq.worker import Worker, func, get_kwargs

from marketplace import idempotency, outbox
from marketplace.accounts import tasks as accounts_tasks
from marketplace.consignment import sales as consignment_sales
from marketplace.consignment import tasks as consignment_tasks
from marketplace.db import create_engine, create_session_factory, unit_of_work
from marketplace.heap import freeze_start_up_objects
from marketplace.jobs import (
    ArqJobQueue,
    Heartbeat,
    carrying_request_id,
    connect_redis,
    worker_name,
    write_heartbeat,
)
from marketplace.logs import configure_logging
from marketplace.orders import tasks as orders_tasks
from marketplace.orders.domain.events import OrderCancelled, OrderLegDelivered
from marketplace.outages import REDIS_UNAVAILABLE
from marketplace.payments import tasks as payments_tasks
from marketplace.procurement.lots import tasks as lot_tasks
from marketplace.reports import tasks as reports_tasks
from marketplace.settings import Settings, load_settings
from marketplace.tracing import WORKER_SERVICE, start_from_settings
from marketplace.webhooks import tasks as webhooks_tasks

log = structlog.get_logger(__name__)


def event_handlers() -> outbox.EventHandlers:
    """Every domain's outbox event handlers, registered in one place."""
    handlers = outbox.EventHandlers()
    webhooks_tasks.register_fan_out(handlers)
    handlers.register(OrderCancelled, payments_tasks.on_order_cancelled)
    handlers.register(OrderLegDelivered, consignment_sales.on_leg_delivered)
    return handlers


async def startup(ctx: dict[str, Any]) -> None:
    settings = ctx.get("settings") or load_settings()
    ctx["settings"] = settings
    configure_logging(settings.log_level, settings.log_format)
    start_from_settings(settings, WORKER_SERVICE)
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
    freeze_start_up_objects()


async def shutdown(ctx: dict[str, Any]) -> None:
    engine = ctx.pop("engine", None)
    if engine is not None:
        await engine.dispose()


async def handle_outbox_event(ctx: dict[str, Any], event_id: str) -> bool:
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        return await outbox.handle_event(uow, uuid.UUID(event_id), ctx["handlers"])


async def handle_outbox_batch(ctx: dict[str, Any], event_ids: list[str]) -> int:
    return await outbox.handle_batch(
        lambda: unit_of_work(ctx["session_factory"], ctx["jobs"]),
        [uuid.UUID(event_id) for event_id in event_ids],
        ctx["handlers"],
    )


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    stale_after = dt.timedelta(seconds=ctx["settings"].outbox_stale_after_seconds)
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        return await outbox.sweep(uow, stale_after)


# Each takes the `request_id` of the request that enqueued it (`jobs.carrying_request_id`).
async def sweep_idempotency(ctx: dict[str, Any]) -> int:
    older_than = dt.timedelta(hours=ctx["settings"].idempotency_ttl_hours)
    async with unit_of_work(ctx["session_factory"], ctx["jobs"]) as uow:
        return await idempotency.sweep_expired(uow, older_than)


FUNCTIONS = [
    carrying_request_id(function)
    for function in [
        # Kept for the jobs of a lone event, the sweeper's, and those queued before batches.
        func(handle_outbox_event, name=outbox.HANDLE_JOB, max_tries=10),
        func(handle_outbox_batch, name=outbox.HANDLE_BATCH_JOB, max_tries=10),
        # keep_result under the hour: the next hourly schedule may try a date that failed again.
        func(
            orders_tasks.materialize_standing_order,
            name=orders_tasks.MATERIALIZE_JOB,
            max_tries=5,
            keep_result=1800,
        ),
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
]
CRON_JOBS = [
    cron(
        orders_tasks.schedule_standing_orders,
        name=orders_tasks.SCHEDULE_JOB,
        minute={10},
        second={0},
        run_at_startup=True,
    ),
    cron(lot_tasks.close_due_lots, name=lot_tasks.CLOSE_DUE_LOTS_JOB, second={30}),
    cron(consignment_tasks.flag_expired, name=consignment_tasks.FLAG_EXPIRED_JOB, minute={5}),
    cron(consignment_tasks.settle_due, name=consignment_tasks.SETTLE_DUE_JOB, minute={20}),
    cron(sweep_idempotency, name=idempotency.SWEEP_JOB, minute={40}, second={0}),
    cron(sweep_outbox, name=outbox.SWEEP_JOB, second={0, 15, 30, 45}, run_at_startup=True),
    cron(
        reports_tasks.fold_rollup,
        name=reports_tasks.FOLD_ROLLUP_JOB,
        second=set(range(0, 60, reports_tasks.FOLD_EVERY_SECONDS)),
        run_at_startup=True,
    ),
    cron(
        webhooks_tasks.retry_due,
        name=webhooks_tasks.RETRY_DUE_JOB,
        second=set(range(0, 60, 5)),
        run_at_startup=True,
    ),
    cron(
        accounts_tasks.sweep_page_sessions,
        name=accounts_tasks.SWEEP_JOB,
        minute={40},
        second={0},
        run_at_startup=True,
    ),
    *payments_tasks.CRON_JOBS,
]


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
    keep_result = 3600
    max_jobs = 20
    job_timeout = 300


# --- the process: survive Redis outages, beat -------------------------------------------


def backoff(failures: int, *, first: float = 0.5, most: float = 5.0) -> float:
    """Seconds to wait after the `failures`-th failure in a row: 0.5, 1, 2, 4, 5, 5, …"""
    return float(min(most, first * 2 ** max(0, failures - 1)))


class SurvivingWorker(Worker):
    """arq's worker, kept alive through Redis outages, with a heartbeat.

    arq's poll loop raises on a Redis error and the worker exits: no events, crons,
    refunds or settlements until someone restarts it. Here a poll that fails for Redis
    reasons is logged and retried with backoff; the jobs already running carry on (what
    they can't record in Redis is run again later; every job is idempotent).
    """

    def __init__(self, *args: Any, heartbeat_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heartbeat_seconds = heartbeat_seconds
        self.name = worker_name()
        self.redis_failures = 0
        self._last_beat = 0.0

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
            await self._beat()
        except REDIS_UNAVAILABLE as exc:
            self.redis_failures += 1
            delay = backoff(self.redis_failures)
            log.warning(
                "worker_redis_unavailable",
                error=repr(exc),
                failures=self.redis_failures,
                retry_in=delay,
            )
            await asyncio.sleep(delay)
            return
        if self.redis_failures:
            log.info("worker_redis_back", after_failures=self.redis_failures)
            self.redis_failures = 0

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        for job_id in job_ids:
            if self.job_counter >= self.max_jobs:
                return
            try:
                await super().start_jobs([job_id])
            except REDIS_UNAVAILABLE:
                # arq counts a job as started (a slot taken) before its Redis calls; one
                # that failed would hold its slot for good, and after `max_jobs` such
                # failures the worker would never start a job again.
                self.job_counter -= 1
                self.sem.release()
                raise

    async def _beat(self) -> None:
        now = time.monotonic()
        if now - self._last_beat < self.heartbeat_seconds:
            return
        await write_heartbeat(
            self.pool,
            Heartbeat(
                worker=self.name,
                at=dt.datetime.now(dt.UTC),
                jobs_complete=self.jobs_complete,
                jobs_failed=self.jobs_failed,
                jobs_retried=self.jobs_retried,
                interval=self.heartbeat_seconds,
            ),
            self.heartbeat_seconds,
        )
        self._last_beat = now


def run(settings: Settings) -> None:
    """`marketplace worker`: run until SIGTERM/SIGINT, whatever Redis does meanwhile."""
    asyncio.run(_run_until_stopped(settings))


async def _run_until_stopped(settings: Settings) -> None:
    assert settings.redis_url is not None, "REDIS_URL must be set for the worker"
    stopping = asyncio.Event()
    current: SurvivingWorker | None = None

    def stop(signum: signal.Signals) -> None:
        stopping.set()
        if current is not None:
            current.handle_sig(signum)  # as arq does: running jobs are cancelled (retried)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    failures = 0
    while not stopping.is_set():
        current = SurvivingWorker(
            **{**get_kwargs(cast(Any, WorkerSettings)), "handle_signals": False},
            redis_pool=connect_redis(settings.redis_url, timeout=settings.redis_timeout_seconds),
            ctx={"settings": settings},
            heartbeat_seconds=settings.worker_heartbeat_seconds,
        )
        started, delay = time.monotonic(), backoff(1)
        try:
            await current.async_run()
        except asyncio.CancelledError:
            if not stopping.is_set():
                raise
        except REDIS_UNAVAILABLE as exc:
            # Before the poll loop (its start-up reads Redis) or past it: start afresh.
            failures = 0 if time.monotonic() - started > 60 else failures + 1
            delay = backoff(failures, most=10.0)
            log.warning("worker_start_failed", error=repr(exc), retry_in=delay)
        finally:
            await _close(current)
        if not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stopping.wait()


async def _close(worker: SurvivingWorker) -> None:
    """arq's `close()`, minus what fails while Redis is away."""
    for task in worker.tasks.values():
        task.cancel()
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    if worker.main_task is not None and not worker.main_task.done():
        worker.main_task.cancel()
        with contextlib.suppress(BaseException):
            await worker.main_task
    with contextlib.suppress(*REDIS_UNAVAILABLE):
        await worker.pool.delete(worker.health_check_key)
    await shutdown(worker.ctx)
    with contextlib.suppress(*REDIS_UNAVAILABLE):
        await worker.pool.aclose()
