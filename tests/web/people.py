"""People for the page tests: invited and signed up through the accounts services."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import PeopleService, Role
from marketplace.db import UnitOfWork

PASSWORD = "rahasia-123"


def unique_phone() -> str:
    return "0857" + str(uuid.uuid4().int)[:8]


async def invitation(
    factory: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    phone: str,
    *,
    role: Role = Role.BUYER,
    now: dt.datetime | None = None,
) -> str:
    async with factory() as session:
        uow = UnitOfWork(session)
        issued = await PeopleService(uow).invite(
            None, organization_id, phone=phone, role=role, now=now or dt.datetime.now(dt.UTC)
        )
        await uow.commit()
        return issued.token


async def member(
    factory: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    *,
    phone: str | None = None,
    role: Role = Role.BUYER,
    name: str = "Siti Aminah",
) -> str:
    """A person who accepted an invitation to the organization; their phone number."""
    phone = phone or unique_phone()
    token = await invitation(factory, organization_id, phone, role=role)
    async with factory() as session:
        uow = UnitOfWork(session)
        await PeopleService(uow).accept_invitation(
            token, name=name, password=PASSWORD, email=None, now=dt.datetime.now(dt.UTC)
        )
        await uow.commit()
    return phone
