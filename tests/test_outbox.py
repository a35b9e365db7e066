"""The outbox relay: an event committed with its change reaches its handler exactly once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.db import UnitOfWork, unit_of_work
from marketplace.events import Event
from marketplace.jobs import ArqJobQueue
from marketplace.settings import Settings
from tests.builders.events import topic_event, topic_event_class
from tests.builders.worker import run_worker_burst
from tests.support import ServiceUrls


@pytest.fixture
async def redis(service_urls: ServiceUrls) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(service_urls.redis_url))
    await pool.flushdb()
    yield pool
    await pool.aclose()


class CountingHandler:
    def __init__(self) -> None:
        self.calls: list[uuid.UUID] = []

    async def __call__(self, uow: UnitOfWork, event: outbox.Emitted[Event]) -> None:
        self.calls.append(event.id)


async def test_event_is_handled_exactly_once_despite_duplicate_enqueues(
    session_factory: async_sessionmaker[AsyncSession], redis: ArqRedis, settings: Settings
) -> None:
    jobs = ArqJobQueue(redis)
    async with unit_of_work(session_factory, jobs) as uow:
        event_id = outbox.emit(uow, topic_event("test.ping", n=1))
        await uow.commit()  # after-commit enqueues the handle job
    # The sweeper and a retry enqueue it again; arq's job id and the handled mark dedupe.
    for _ in range(3):
        await jobs.enqueue(outbox.HANDLE_JOB, str(event_id), job_id=outbox.job_id_for(event_id))
    await redis.enqueue_job(outbox.HANDLE_JOB, str(event_id))  # even without a job id

    handler = CountingHandler()
    handlers = outbox.EventHandlers()
    handlers.register(topic_event_class("test.ping"), handler)
    await run_worker_burst(redis, settings, handlers)

    assert handler.calls == [event_id]
    async with session_factory() as session:
        event = await session.get(outbox.OutboxEvent, event_id)
        assert event is not None
        assert event.handled_at is not None


async def test_rolled_back_change_emits_nothing(
    session_factory: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    async with unit_of_work(session_factory, ArqJobQueue(redis)) as uow:
        event_id = outbox.emit(uow, topic_event("test.ping"))
        # no commit: the context manager rolls back
    assert await redis.queued_jobs() == []
    async with session_factory() as session:
        assert await session.get(outbox.OutboxEvent, event_id) is None


async def test_sweeper_recovers_an_event_whose_job_was_lost(
    session_factory: async_sessionmaker[AsyncSession], redis: ArqRedis, settings: Settings
) -> None:
    async with unit_of_work(session_factory, jobs=None) as uow:  # the queue was down
        event_id = outbox.emit(uow, topic_event("test.lost"))
        await uow.session.flush()
        # Oldest first: the sweep takes a bounded batch, and the shared test database holds
        # other tests' unhandled events, so this one is dated before all of them.
        await uow.session.execute(
            sa.text("UPDATE outbox_events SET created_at = '2000-01-01Z' WHERE id = :id"),
            {"id": event_id},
        )
        await uow.commit()
    assert await redis.queued_jobs() == []

    async with unit_of_work(session_factory, ArqJobQueue(redis)) as uow:
        swept = await outbox.sweep(uow, stale_after=dt.timedelta(0))
    assert swept >= 1

    handler = CountingHandler()
    handlers = outbox.EventHandlers()
    handlers.register(topic_event_class("test.lost"), handler)
    await run_worker_burst(redis, settings, handlers)
    assert handler.calls.count(event_id) == 1


async def test_failing_handler_leaves_event_unhandled_for_retry(
    session_factory: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    async with unit_of_work(session_factory) as uow:
        event_id = outbox.emit(uow, topic_event("test.fails"))
        await uow.commit()

    async def boom(uow: UnitOfWork, event: outbox.Emitted[Event]) -> None:
        raise RuntimeError("handler failed")

    handlers = outbox.EventHandlers()
    handlers.register(topic_event_class("test.fails"), boom)
    async with unit_of_work(session_factory) as uow:
        with pytest.raises(RuntimeError):
            await outbox.handle_event(uow, event_id, handlers)
    async with session_factory() as session:
        event = await session.get(outbox.OutboxEvent, event_id)
        assert event is not None
        assert event.handled_at is None

    ok = CountingHandler()
    handlers = outbox.EventHandlers()
    handlers.register(topic_event_class("test.fails"), ok)
    async with unit_of_work(session_factory) as uow:
        assert await outbox.handle_event(uow, event_id, handlers) is True
    async with unit_of_work(session_factory) as uow:
        assert await outbox.handle_event(uow, event_id, handlers) is False
    assert ok.calls == [event_id]


async def test_sweeper_reaches_every_stale_event_not_only_the_oldest(
    session_factory: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    async with unit_of_work(session_factory, jobs=None) as uow:
        for i in range(600):  # a backlog ahead of ours, e.g. events whose handler keeps failing
            outbox.emit(uow, topic_event("test.backlog", i=i))
        newest = outbox.emit(uow, topic_event("test.newest"))
        await uow.commit()
    async with unit_of_work(session_factory, ArqJobQueue(redis)) as uow:
        swept = await outbox.sweep(uow, stale_after=dt.timedelta(0))
    assert swept >= 601
    queued = {job.job_id for job in await redis.queued_jobs()}
    assert any(job_id.startswith(f"{outbox.job_id_for(newest)}:swept:") for job_id in queued)
