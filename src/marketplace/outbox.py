"""Transactional outbox: a state change and the event it causes commit together.

`emit()` inserts an event (a `marketplace.events.Event` Struct, stored as its payload under
its `event_type`) in the caller's transaction. After commit, all the events of that
transaction are enqueued together, in one Redis round trip: a lone event as an arq job
`outbox.handle`, several as `outbox.handle_batch` jobs of up to `BATCH_SIZE` events (job id
from the event id, or the batch's first, so arq drops duplicates); a 20-line order's ~18
events were once as many jobs, ~54 round trips one after the other before its answer. The
queue may lose jobs (Redis restart, worker killed), so the table is the source of truth:
the `outbox.sweep` cron job re-enqueues events left unhandled, each as its own
`outbox.handle` job. Handling an event marks it handled in the same transaction as the
handlers' effects, under a row lock, so each event's handlers take effect exactly once
however often a job runs; a batch handles each event in its own transaction, so one
failing event holds up no other. Handlers are registered for an event class and receive
the stored payload decoded into it (`Emitted`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypeVar

import msgspec
import structlog
from sqlalchemy import Index, String, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin, UnitOfWork
from marketplace.events import Event, event_from, payload_of
from marketplace.ids import new_id, new_ids
from marketplace.jobs import QueuedJob, resweep_job_id
from marketplace.unnest_insert import UnnestInsert

log = structlog.get_logger(__name__)

HANDLE_JOB = "outbox.handle"
HANDLE_BATCH_JOB = "outbox.handle_batch"
# Events a batch job handles, one after the other; a transaction with more (a settlement
# run's 2,000 statements) makes several jobs, which workers run side by side.
BATCH_SIZE = 50
SWEEP_JOB = "outbox.sweep"
# An event not handled this long after creation is assumed lost from the queue.
STALE_AFTER = dt.timedelta(seconds=30)


class OutboxEvent(IdMixin, TimestampMixin, Base):
    __tablename__ = "outbox_events"

    topic: Mapped[str] = mapped_column(String(100))
    organization_id: Mapped[uuid.UUID | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    handled_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        Index(
            "ix_outbox_events_unhandled",
            "created_at",
            postgresql_where=text("handled_at IS NULL"),
        ),
    )


E_co = TypeVar("E_co", bound=Event, covariant=True)
E = TypeVar("E", bound=Event)


class Emitted(msgspec.Struct, Generic[E_co], frozen=True, kw_only=True):
    """An event as its handlers receive it: the outbox row's id (the partners' `webhook-id`),
    the organization it was emitted to, when, and the event decoded into its Struct."""

    id: uuid.UUID
    organization_id: uuid.UUID | None
    occurred_at: dt.datetime
    event: E_co


EventHandler = Callable[[UnitOfWork, Emitted[E]], Awaitable[None]]


class EventHandlers:
    """Registry of handlers by event class, composed at worker start-up."""

    def __init__(self) -> None:
        self._by_topic: dict[str, list[EventHandler[Any]]] = {}
        self._classes: dict[str, type[Event]] = {}

    def register(self, event_class: type[E], handler: EventHandler[E]) -> None:
        known = self._classes.setdefault(event_class.event_type, event_class)
        if known is not event_class:
            raise ValueError(f"{event_class.event_type!r} is already {known.__qualname__}")
        self._by_topic.setdefault(event_class.event_type, []).append(handler)

    def register_each(self, event_classes: Iterable[type[E]], handler: EventHandler[E]) -> None:
        for event_class in event_classes:
            self.register(event_class, handler)

    def for_topic(self, topic: str) -> list[EventHandler[Any]]:
        return list(self._by_topic.get(topic, []))

    def event_class(self, topic: str) -> type[Event]:
        return self._classes[topic]


def _enqueue_after_commit(uow: UnitOfWork, event_ids: Sequence[uuid.UUID]) -> None:
    jobs = uow.jobs
    if jobs is None:
        return

    async def enqueue(gathered: list[uuid.UUID]) -> None:
        await jobs.enqueue_many(jobs_for(gathered))

    uow.gather_after_commit(HANDLE_JOB, event_ids, enqueue)


def jobs_for(event_ids: Sequence[uuid.UUID]) -> list[QueuedJob]:
    """The jobs that handle these events: `outbox.handle` for a lone event, else
    `outbox.handle_batch` jobs of up to `BATCH_SIZE` events."""
    if len(event_ids) == 1:
        return [QueuedJob(HANDLE_JOB, (str(event_ids[0]),), job_id_for(event_ids[0]))]
    batches = [event_ids[i : i + BATCH_SIZE] for i in range(0, len(event_ids), BATCH_SIZE)]
    return [
        QueuedJob(HANDLE_BATCH_JOB, ([str(e) for e in batch],), batch_job_id_for(batch[0]))
        for batch in batches
    ]


def emit(uow: UnitOfWork, event: Event, *, organization_id: uuid.UUID | None = None) -> uuid.UUID:
    event_id = new_id()
    uow.session.add(
        OutboxEvent(
            id=event_id,
            topic=event.event_type,
            organization_id=organization_id,
            payload=payload_of(event),
        )
    )
    _enqueue_after_commit(uow, [event_id])
    return event_id


# A new event: not handled, no attempts, created now.
_LEFT_TO_DEFAULTS = ("handled_at", "attempts", "created_at")
# The same event to many organizations: one payload, an id and organization per row.
_INSERT_MANY = UnnestInsert(OutboxEvent, shared=("topic", "payload"), defaulted=_LEFT_TO_DEFAULTS)


async def emit_many(
    uow: UnitOfWork, event: Event, *, organization_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """`emit` of the same event to each of these organizations (one event each, as
    `emit` would make them), written by one INSERT now rather than as ORM objects the
    session flushes later: an order placed with 200 suppliers writes 201 events."""
    event_ids = new_ids(len(organization_ids))
    if not event_ids:
        return event_ids
    driver = await uow.driver()
    await driver.fetch(
        _INSERT_MANY.driver_statement,
        _INSERT_MANY.array_params(
            topic=event.event_type,
            payload=msgspec.json.encode(payload_of(event)).decode(),
            id=event_ids,
            organization_id=organization_ids,
        ),
    )
    _enqueue_after_commit(uow, event_ids)
    return event_ids


# One event per organization, each its own type and payload.
_INSERT_EACH = UnnestInsert(OutboxEvent, defaulted=_LEFT_TO_DEFAULTS)


async def emit_each(uow: UnitOfWork, events: Sequence[tuple[uuid.UUID, Event]]) -> list[uuid.UUID]:
    """`emit` of one event per (organization, event), each its own, written by one
    INSERT (a set-based writer that builds its events in SQL uses `enqueue_written`)."""
    event_ids = [new_id() for _ in events]
    if not event_ids:
        return event_ids
    encoded: dict[int, str] = {}  # an event sent to several organizations is encoded once
    for _, event in events:
        if id(event) not in encoded:
            encoded[id(event)] = msgspec.json.encode(payload_of(event)).decode()
    await uow.session.execute(
        _INSERT_EACH.statement,
        _INSERT_EACH.array_params(
            id=event_ids,
            topic=[event.event_type for _, event in events],
            organization_id=[organization_id for organization_id, _ in events],
            payload=[encoded[id(event)] for _, event in events],
        ),
    )
    _enqueue_after_commit(uow, event_ids)
    return event_ids


def enqueue_written(uow: UnitOfWork, event_ids: Sequence[uuid.UUID]) -> None:
    """After commit, enqueue the handling of events that the caller's own SQL wrote to the
    outbox in this transaction (a set-based write of many, e.g. a settlement run's), as
    `emit_each` does for those it writes."""
    if event_ids:
        _enqueue_after_commit(uow, event_ids)


def job_id_for(event_id: uuid.UUID) -> str:
    return f"outbox:{event_id}"


def batch_job_id_for(first_event_id: uuid.UUID) -> str:
    return f"outbox:batch:{first_event_id}"


async def handle_event(uow: UnitOfWork, event_id: uuid.UUID, handlers: EventHandlers) -> bool:
    """Run the event's handlers once. Returns False if it was already handled."""
    event = (
        await uow.session.execute(
            select(OutboxEvent).where(OutboxEvent.id == event_id).with_for_update()
        )
    ).scalar_one_or_none()
    if event is None or event.handled_at is not None:
        await uow.rollback()
        return False
    event.attempts += 1
    to_run = handlers.for_topic(event.topic)
    if to_run:
        emitted = Emitted(
            id=event.id,
            organization_id=event.organization_id,
            occurred_at=event.created_at,
            event=event_from(handlers.event_class(event.topic), event.payload),
        )
        for handler in to_run:
            await handler(uow, emitted)
    event.handled_at = dt.datetime.now(dt.UTC)
    await uow.commit()
    return True


class BatchIncomplete(Exception):
    """Some events of a batch failed (each logged); the sweeper enqueues them again."""


async def handle_batch(
    units: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
    event_ids: Sequence[uuid.UUID],
    handlers: EventHandlers,
) -> int:
    """`handle_event` for each event, each in a unit of work of its own, so one event's
    failure neither rolls back nor holds up the others. Returns how many were handled
    now; raises `BatchIncomplete` after the others if any failed (so the job counts as
    failed), leaving those to the sweeper, as a failed `outbox.handle` job does."""
    handled, failed = 0, []
    for event_id in event_ids:
        try:
            async with units() as uow:
                if await handle_event(uow, event_id, handlers):
                    handled += 1
        except Exception:
            log.exception("outbox_event_failed", event_id=str(event_id))
            failed.append(str(event_id))
    if failed:
        raise BatchIncomplete(f"{len(failed)} of {len(event_ids)} events failed: {failed}")
    return handled


async def stale_event_ids(
    uow: UnitOfWork,
    stale_after: dt.timedelta = STALE_AFTER,
    *,
    after: uuid.UUID | None = None,
    limit: int = 500,
) -> list[uuid.UUID]:
    query = (
        select(OutboxEvent.id)
        .where(OutboxEvent.handled_at.is_(None), OutboxEvent.created_at < func.now() - stale_after)
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(OutboxEvent.id > after)
    return list((await uow.session.execute(query)).scalars())


async def sweep(uow: UnitOfWork, stale_after: dt.timedelta = STALE_AFTER) -> int:
    """Re-enqueue every event the queue may have lost, in pages, each event as its own
    `outbox.handle` job (one Redis round trip a page).

    All of them, not just the oldest: events that keep failing must not starve newer ones
    behind them. Duplicates are harmless (see module doc).
    """
    if uow.jobs is None:
        return 0
    swept, after, now = 0, None, dt.datetime.now(dt.UTC)
    while ids := await stale_event_ids(uow, stale_after, after=after):
        await uow.jobs.enqueue_many(
            [QueuedJob(HANDLE_JOB, (str(e),), resweep_job_id(job_id_for(e), now)) for e in ids]
        )
        swept += len(ids)
        after = ids[-1]
    await uow.rollback()
    return swept
