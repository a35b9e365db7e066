"""The arq worker run the way production runs it, in burst mode: it handles every job that
is queued and returns."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from typing import Any

from arq.connections import ArqRedis
from arq.cron import CronJob
from arq.worker import Worker

from marketplace import outbox
from marketplace.settings import Settings


async def run_worker_burst(
    redis: ArqRedis, settings: Settings, handlers: outbox.EventHandlers | None = None
) -> None:
    """Run the worker's functions until the queue is empty. `handlers` are the outbox event
    handlers its context carries (none unless given; the production set is
    `marketplace.worker.event_handlers()`)."""
    from marketplace.worker import WorkerSettings

    ctx: dict[str, Any] = {"settings": settings}
    if handlers is not None:
        ctx["handlers"] = handlers
    worker = Worker(
        functions=WorkerSettings.functions,
        redis_pool=redis,
        burst=True,
        on_startup=WorkerSettings.on_startup,
        on_shutdown=WorkerSettings.on_shutdown,
        ctx=ctx,
        poll_delay=0.05,
        handle_signals=False,
    )
    try:
        await worker.async_run()
    finally:
        await worker.close()


def gaps_between_runs(job: CronJob, runs: int) -> set[dt.timedelta]:
    """The gaps between `runs` consecutive runs of a cron job of the worker's real list
    (a copy: the list a new worker process gets stays as it is), from a fixed Monday."""
    job = copy.copy(job)
    at = dt.datetime(2026, 12, 7, 0, 0, tzinfo=dt.UTC)
    times = []
    for _ in range(runs):
        job.calculate_next(at)
        assert job.next_run is not None
        times.append(job.next_run)
        at = job.next_run
    return {later - earlier for earlier, later in itertools.pairwise(times)}
