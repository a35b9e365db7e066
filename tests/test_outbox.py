"""The outbox relay: an event committed with its change reaches its handler exactly once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from reliability.servers import DrillRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.db import UnitOfWork, unit_of_work
from marketplace.events import Event
from marketplace.jobs import ArqJobQueue, QueuedJob, connect_redis
from marketplace.request_ids import bound, current_request_id
from marketplace.settings import Settings
from tests.builders.events import topic_event, topic_event_class
from tests.builders.round_trips import counting_redis
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


async def test_a_transactions_events_are_one_batch_job_and_each_is_handled_once(
    session_factory: async_sessionmaker[AsyncSession], redis: ArqRedis, settings: Settings
) -> None:
    async with unit_of_work(session_factory, ArqJobQueue(redis)) as uow:
        first = outbox.emit(uow, topic_event("test.batch", n=0))
        many = await outbox.emit_many(
            uow, topic_event("test.batch", n=1), organization_ids=[uuid.uuid4(), uuid.uuid4()]
        )
        each = await outbox.emit_each(uow, [(uuid.uuid4(), topic_event("test.batch", n=2))])
        await uow.commit()
    emitted = [first, *many, *each]

    [job] = await redis.queued_jobs()
    assert job.function == outbox.HANDLE_BATCH_JOB
    assert job.args == ([str(e) for e in emitted],)
    assert job.job_id == outbox.batch_job_id_for(first)

    handler = CountingHandler()
    handlers = outbox.EventHandlers()
    handlers.register(topic_event_class("test.batch"), handler)
    await run_worker_burst(redis, settings, handlers)
    assert handler.calls == emitted
    async with session_factory() as session:
        for event_id in emitted:
            event = await session.get(outbox.OutboxEvent, event_id)
            assert event is not None
            assert event.handled_at is not None


async def test_one_failing_event_of_a_batch_holds_up_no_other(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(session_factory) as uow:
        ok_before = outbox.emit(uow, topic_event("test.batch_ok"))
        failing = outbox.emit(uow, topic_event("test.batch_fails"))
        ok_after = outbox.emit(uow, topic_event("test.batch_ok"))
        await uow.commit()

    async def boom(uow: UnitOfWork, event: outbox.Emitted[Event]) -> None:
        raise RuntimeError("handler failed")

    ok = CountingHandler()
    handlers = outbox.EventHandlers()
    handlers.register(topic_event_class("test.batch_ok"), ok)
    handlers.register(topic_event_class("test.batch_fails"), boom)
    with pytest.raises(outbox.BatchIncomplete, match=str(failing)):
        await outbox.handle_batch(
            lambda: unit_of_work(session_factory), [ok_before, failing, ok_after], handlers
        )
    assert ok.calls == [ok_before, ok_after]
    async with session_factory() as session:
        rows = {
            e.id: e
            for e in (
                await session.execute(
                    sa.select(outbox.OutboxEvent).where(
                        outbox.OutboxEvent.id.in_([ok_before, failing, ok_after])
                    )
                )
            ).scalars()
        }
    assert rows[failing].handled_at is None  # left to the sweeper
    assert rows[ok_before].handled_at is not None
    assert rows[ok_after].handled_at is not None

    # Run again (a retry, the sweeper's job): the handled ones are not handled twice.
    handlers = outbox.EventHandlers()
    handlers.register(topic_event_class("test.batch_ok"), ok)
    handlers.register(topic_event_class("test.batch_fails"), ok)
    assert (
        await outbox.handle_batch(
            lambda: unit_of_work(session_factory), [ok_before, failing, ok_after], handlers
        )
        == 1
    )
    assert ok.calls == [ok_before, ok_after, failing]


async def test_a_large_transaction_is_several_batches_enqueued_in_one_round_trip(
    session_factory: async_sessionmaker[AsyncSession], redis: ArqRedis, service_urls: ServiceUrls
) -> None:
    counted, tally = counting_redis(service_urls.redis_url)
    jobs = ArqJobQueue(counted)
    try:
        # Connected, and the script loaded, before counting.
        await jobs.enqueue_many([QueuedJob("tests.warm_up", (), "warm-up")])
        events = 2 * outbox.BATCH_SIZE + 7
        async with unit_of_work(session_factory, jobs) as uow:
            emitted = await outbox.emit_many(
                uow, topic_event("test.big"), organization_ids=[uuid.uuid4() for _ in range(events)]
            )
            tally.reset()
            await uow.commit()
        assert (tally.round_trips, tally.commands) == (1, ["EVALSHA"])
    finally:
        await counted.aclose()
    queued = sorted(
        (job for job in await redis.queued_jobs() if job.function == outbox.HANDLE_BATCH_JOB),
        key=lambda job: emitted.index(uuid.UUID(job.args[0][0])),
    )
    assert [job.function for job in queued] == [outbox.HANDLE_BATCH_JOB] * 3
    assert [len(job.args[0]) for job in queued] == [outbox.BATCH_SIZE, outbox.BATCH_SIZE, 7]
    assert [e for job in queued for e in job.args[0]] == [str(e) for e in emitted]


async def test_enqueue_many_drops_a_job_whose_id_is_taken_as_arq_does(redis: ArqRedis) -> None:
    await redis.enqueue_job("tests.job", "first", _job_id="taken")
    jobs = ArqJobQueue(redis)
    new = await jobs.enqueue_many(
        [
            QueuedJob("tests.job", ("again",), "taken"),
            QueuedJob("tests.job", ("free",), "free"),
            QueuedJob("tests.job", ("free again",), "free"),
        ]
    )
    assert new == 1
    queued = {job.job_id: job.args for job in await redis.queued_jobs()}
    assert queued == {"taken": ("first",), "free": ("free",)}
    # and one whose result is kept (it ran) is not enqueued again, as with arq
    await redis.set("arq:result:done", b"x")
    assert await jobs.enqueue_many([QueuedJob("tests.job", (), "done")]) == 0


async def test_enqueue_many_after_a_redis_restart_sends_its_script_again() -> None:
    """A restarted Redis has forgotten the script (on a server of its own: the shared
    one's other tests count round trips with the script cached)."""
    with DrillRedis() as server:
        redis = connect_redis(server.url, timeout=2)
        try:
            jobs = ArqJobQueue(redis)
            assert await jobs.enqueue_many([QueuedJob("tests.job", ("before",), "before")]) == 1
            server.stop()
            server.start()
            await redis.connection_pool.disconnect()  # the old connections died with it
            assert await jobs.enqueue_many([QueuedJob("tests.job", ("after",), "after")]) == 1
            assert [job.job_id for job in await redis.queued_jobs()] == ["after"]
        finally:
            await redis.aclose()


async def test_a_batch_job_carries_the_request_id_into_each_events_handling(
    session_factory: async_sessionmaker[AsyncSession], redis: ArqRedis, settings: Settings
) -> None:
    async with unit_of_work(session_factory, ArqJobQueue(redis)) as uow:
        emitted = [outbox.emit(uow, topic_event("test.traced", n=n)) for n in range(2)]
        with bound("order-req-19"):
            await uow.commit()
    [job] = await redis.queued_jobs()
    assert job.function == outbox.HANDLE_BATCH_JOB
    assert job.kwargs == {"request_id": "order-req-19"}

    seen: list[tuple[uuid.UUID, str | None]] = []

    async def record(uow: UnitOfWork, event: outbox.Emitted[Event]) -> None:
        seen.append((event.id, current_request_id()))

    handlers = outbox.EventHandlers()
    handlers.register(topic_event_class("test.traced"), record)
    await run_worker_burst(redis, settings, handlers)
    assert seen == [(e, "order-req-19") for e in emitted]
