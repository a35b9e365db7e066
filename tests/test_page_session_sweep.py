"""Expired page sessions and stale sign-in failures are swept by the worker: at its start
and every hour, on the cron list a new worker process gets."""

from __future__ import annotations

import datetime as dt
import uuid

from arq.connections import RedisSettings
from arq.worker import Worker
from sqlalchemy import select

from marketplace.accounts import tasks as accounts_tasks
from marketplace.accounts.models import SignInFailure, WebSession
from marketplace.worker import WorkerSettings
from tests.builders.worker import gaps_between_runs
from tests.test_standing_orders_job import OwnDatabase, own, run_worker_until, worker_redis

__all__ = ["own", "worker_redis"]


def test_the_sweep_runs_at_start_and_every_hour() -> None:
    [job] = [c for c in WorkerSettings.cron_jobs if c.name == accounts_tasks.SWEEP_JOB]
    assert job.coroutine is accounts_tasks.sweep_page_sessions
    assert job.run_at_startup
    assert gaps_between_runs(job, 24) == {dt.timedelta(hours=1)}


async def test_a_started_worker_sweeps_what_has_expired_and_keeps_the_rest(
    own: OwnDatabase, worker_redis: RedisSettings
) -> None:
    now = dt.datetime.now(dt.UTC)
    keys = {name: f"sweep-{name}-{uuid.uuid4().hex}" for name in ("expired", "live", "forever")}
    async with own.session_factory() as session:
        session.add(WebSession(key=keys["expired"], value=b"x", expires_at=now - dt.timedelta(1)))
        session.add(WebSession(key=keys["live"], value=b"x", expires_at=now + dt.timedelta(1)))
        session.add(WebSession(key=keys["forever"], value=b"x", expires_at=None))
        old, recent = uuid.uuid4(), uuid.uuid4()
        for failure_id, age in ((old, dt.timedelta(hours=2)), (recent, dt.timedelta(minutes=1))):
            session.add(
                SignInFailure(
                    id=failure_id, phone="+6281100000042", address="10.0.0.9", at=now - age
                )
            )
        await session.commit()

    async def swept(worker: Worker) -> bool:
        async with own.session_factory() as session:
            found = await session.scalar(
                select(WebSession.key).where(WebSession.key == keys["expired"])
            )
        return found is None

    await run_worker_until(worker_redis, own.settings, swept)
    async with own.session_factory() as session:
        left = set(
            await session.scalars(select(WebSession.key).where(WebSession.key.in_(keys.values())))
        )
        failures = set(
            await session.scalars(
                select(SignInFailure.id).where(SignInFailure.id.in_([old, recent]))
            )
        )
    assert left == {keys["live"], keys["forever"]}
    assert failures == {recent}
