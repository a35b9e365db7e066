"""The reusable Idempotency-Key mechanism against the real database."""

from __future__ import annotations

import asyncio
import uuid

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.db import unit_of_work
from marketplace.idempotency import (
    IdempotencyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    run_idempotent,
)
from tests.builders.events import topic_event


class Made(msgspec.Struct, frozen=True):
    event_id: uuid.UUID
    amount: int


async def make_thing(
    factory: async_sessionmaker[AsyncSession],
    org: uuid.UUID,
    key: str | None,
    amount: int,
    *,
    hold: asyncio.Event | None = None,
    wait: str = "10s",
) -> tuple[int, Made, bool]:
    """One request: the effect is an outbox row tagged with the organization."""
    async with unit_of_work(factory) as uow:

        async def action() -> Made:
            event_id = outbox.emit(
                uow, topic_event("test.made", amount=amount), organization_id=org
            )
            if hold is not None:
                await hold.wait()
            return Made(event_id=event_id, amount=amount)

        response = await run_idempotent(
            uow,
            organization_id=org,
            key=key,
            operation="test.make",
            request={"amount": amount},
            response_type=Made,
            action=action,
            wait_for_first=wait,
        )
    replayed = (response.headers or {}).get("Idempotent-Replayed") == "true"
    assert isinstance(response.content, Made)
    return response.status_code, response.content, replayed


async def effects(factory: async_sessionmaker[AsyncSession], org: uuid.UUID) -> int:
    async with factory() as session:
        return int(
            await session.scalar(
                select(func.count()).where(outbox.OutboxEvent.organization_id == org)
            )
            or 0
        )


async def test_same_key_same_body_replays_first_response(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    org = uuid.uuid4()
    first = await make_thing(session_factory, org, "k1", 100)
    second = await make_thing(session_factory, org, "k1", 100)
    assert first[0] == second[0] == 201
    assert first[1] == second[1]
    assert (first[2], second[2]) == (False, True)
    assert await effects(session_factory, org) == 1


async def test_same_key_different_body_is_refused(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    org = uuid.uuid4()
    await make_thing(session_factory, org, "k1", 100)
    with pytest.raises(IdempotencyKeyReused):
        await make_thing(session_factory, org, "k1", 999)
    assert await effects(session_factory, org) == 1


async def test_keys_are_scoped_per_organization(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    ra = await make_thing(session_factory, a, "shared", 1)
    rb = await make_thing(session_factory, b, "shared", 1)
    assert ra[1] != rb[1]
    assert await effects(session_factory, a) == await effects(session_factory, b) == 1


async def test_missing_or_bad_key_is_refused(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    org = uuid.uuid4()
    for key in [None, "", "x" * 256, "tab\there"]:
        with pytest.raises(IdempotencyKeyInvalid):
            await make_thing(session_factory, org, key, 1)
    assert await effects(session_factory, org) == 0


async def test_concurrent_duplicates_make_one_effect_and_identical_responses(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    org = uuid.uuid4()
    results = await asyncio.gather(
        *(make_thing(session_factory, org, "burst", 7) for _ in range(20))
    )
    assert len({(status, made) for status, made, _ in results}) == 1
    assert sum(1 for *_, replayed in results if not replayed) == 1
    assert await effects(session_factory, org) == 1


async def test_duplicate_while_first_still_runs_is_409(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    org = uuid.uuid4()
    hold = asyncio.Event()
    first = asyncio.create_task(make_thing(session_factory, org, "slow", 5, hold=hold))
    await asyncio.sleep(0.2)
    with pytest.raises(IdempotencyInProgress):
        await make_thing(session_factory, org, "slow", 5, wait="200ms")
    hold.set()
    status, made, replayed = await first
    assert (status, replayed) == (201, False)
    assert (await make_thing(session_factory, org, "slow", 5))[1] == made
    assert await effects(session_factory, org) == 1


async def test_failed_action_records_nothing_so_a_retry_runs(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    org = uuid.uuid4()

    async with unit_of_work(session_factory) as uow:

        async def failing() -> Made:
            outbox.emit(uow, topic_event("test.made"), organization_id=org)
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await run_idempotent(
                uow,
                organization_id=org,
                key="retry-me",
                operation="test.make",
                request={"amount": 3},
                response_type=Made,
                action=failing,
            )
    assert await effects(session_factory, org) == 0
    status, _, replayed = await make_thing(session_factory, org, "retry-me", 3)
    assert (status, replayed) == (201, False)
    assert await effects(session_factory, org) == 1
