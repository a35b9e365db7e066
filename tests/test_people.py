"""People: invitations, accepting them, signing in with throttling (real PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import PeopleService, Role
from marketplace.accounts.domain.people import (
    MAX_FAILURES_PER_PHONE,
    InvitationUnusable,
    TooManyAttempts,
    WeakPassword,
)
from marketplace.accounts.models import Person
from marketplace.db import UnitOfWork
from marketplace.errors import NotFound, PermissionDenied
from tests.support import Actors

NOW = dt.datetime.now(dt.UTC)


def unique_phone() -> str:
    return "0813" + str(uuid.uuid4().int)[:8]


async def invite(
    session_factory: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    phone: str,
    role: Role = Role.BUYER,
    now: dt.datetime = NOW,
) -> str:
    async with session_factory() as session:
        uow = UnitOfWork(session)
        issued = await PeopleService(uow).invite(
            None, organization_id, phone=phone, role=role, now=now
        )
        await uow.commit()
        return issued.token


async def accept(
    session_factory: async_sessionmaker[AsyncSession], token: str, password: str = "rahasia-123"
) -> uuid.UUID:
    async with session_factory() as session:
        uow = UnitOfWork(session)
        person = await PeopleService(uow).accept_invitation(
            token, name="Siti Aminah", password=password, email=None, now=NOW
        )
        await uow.commit()
        return person.id


async def sign_in(
    session_factory: async_sessionmaker[AsyncSession],
    phone: str,
    password: str,
    address: str = "10.0.0.1",
) -> uuid.UUID | None:
    async with session_factory() as session:
        uow = UnitOfWork(session)
        person = await PeopleService(uow).authenticate(
            phone, password, address=address, now=dt.datetime.now(dt.UTC)
        )
        await uow.commit()
        return person.id if person else None


async def test_an_invited_person_signs_in_with_their_number_in_any_form(
    actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen_id = (await actors.org("kitchen")).organization_id
    phone = unique_phone()
    person_id = await accept(session_factory, await invite(session_factory, kitchen_id, phone))
    assert await sign_in(session_factory, "+62 " + phone[1:], "rahasia-123") == person_id
    assert await sign_in(session_factory, phone, "salah-sandi") is None
    async with session_factory() as session:
        stored = await session.get(Person, person_id)
        assert stored is not None
        assert stored.password_hash.startswith("$argon2id$")
        principal = await PeopleService(UnitOfWork(session)).acting_as(person_id, kitchen_id)
        assert principal.role is Role.BUYER
        other_id = (await actors.org("kitchen")).organization_id
        with pytest.raises(NotFound):
            await PeopleService(UnitOfWork(session)).acting_as(person_id, other_id)


async def test_an_invitation_is_spent_once_and_expires(
    actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen_id = (await actors.org("kitchen")).organization_id
    token = await invite(session_factory, kitchen_id, unique_phone())
    with pytest.raises(WeakPassword):
        await accept(session_factory, token, password="pendek")
    await accept(session_factory, token)
    with pytest.raises(InvitationUnusable):
        await accept(session_factory, token)
    stale = await invite(
        session_factory, kitchen_id, unique_phone(), now=NOW - dt.timedelta(days=8)
    )
    with pytest.raises(InvitationUnusable):
        await accept(session_factory, stale)


async def test_only_an_admin_of_the_organization_invites(
    actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen_id = (await actors.org("kitchen")).organization_id
    other_id = (await actors.org("kitchen")).organization_id
    person_id = await accept(
        session_factory, await invite(session_factory, kitchen_id, unique_phone(), Role.ADMIN)
    )
    buyer_id = await accept(
        session_factory, await invite(session_factory, kitchen_id, unique_phone())
    )
    async with session_factory() as session:
        service = PeopleService(UnitOfWork(session))
        admin = await service.acting_as(person_id, kitchen_id)
        buyer = await service.acting_as(buyer_id, kitchen_id)
        await service.invite(admin, kitchen_id, phone=unique_phone(), role=Role.VIEWER, now=NOW)
        with pytest.raises(PermissionDenied):
            await service.invite(buyer, kitchen_id, phone=unique_phone(), role=Role.VIEWER, now=NOW)
        with pytest.raises(NotFound):
            await service.invite(admin, other_id, phone=unique_phone(), role=Role.ADMIN, now=NOW)
        await session.rollback()


async def test_failed_sign_ins_are_slowed_down_per_phone_and_per_address(
    actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen_id = (await actors.org("kitchen")).organization_id
    phone = unique_phone()
    await accept(session_factory, await invite(session_factory, kitchen_id, phone))
    address = f"10.1.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    for _ in range(MAX_FAILURES_PER_PHONE):
        assert await sign_in(session_factory, phone, "salah-sandi", address) is None
    with pytest.raises(TooManyAttempts) as refused:
        await sign_in(session_factory, phone, "rahasia-123", "10.9.9.9")
    assert refused.value.retry_after_seconds > 0
    # Another number from the same address is still heard (the address limit is higher).
    assert await sign_in(session_factory, unique_phone(), "salah-sandi", address) is None
