"""A revocation is announced by the unit of work that revokes: after its commit, never
for a revocation rolled back (the accounts service registers it; no caller has to)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.authentication import KeyRevocations
from marketplace.accounts.domain import OrganizationKind, Principal, Role
from marketplace.accounts.schemas import ApiKeyCreate, OrganizationCreate
from marketplace.accounts.service import AccountsService
from marketplace.db import unit_of_work


class RecordedRevocations(KeyRevocations):
    def __init__(self) -> None:
        super().__init__(cache=None, redis=None)
        self.announced: list[uuid.UUID] = []

    async def announce(self, api_key_id: uuid.UUID) -> None:
        self.announced.append(api_key_id)
        await super().announce(api_key_id)


async def _organization_with_key(
    session_factory: async_sessionmaker[AsyncSession],
) -> tuple[Principal, uuid.UUID]:
    async with unit_of_work(session_factory) as uow:
        accounts = AccountsService(uow)
        organization = await accounts.create_organization(
            None,
            OrganizationCreate(
                kind=OrganizationKind.COOPERATIVE,
                name="Koperasi Revocation",
                slug=f"koperasi-revocation-{uuid.uuid4().hex[:12]}",
                region_code="35.76",
                city="Mojokerto",
            ),
        )
        key, _ = await accounts.create_api_key(
            None, organization.id, ApiKeyCreate(name="till", role=Role.VIEWER)
        )
        await uow.commit()
    admin = Principal(
        api_key_id=uuid.uuid4(),
        organization_id=organization.id,
        organization_kind=OrganizationKind.COOPERATIVE,
        role=Role.ADMIN,
    )
    return admin, key.id


async def test_revocation_is_announced_only_after_its_commit(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin, key_id = await _organization_with_key(session_factory)
    revocations = RecordedRevocations()
    async with unit_of_work(session_factory) as uow:
        await AccountsService(uow).revoke_api_key(admin, key_id, revocations=revocations)
        assert revocations.announced == []
        await uow.commit()
    assert revocations.announced == [key_id]

    # Revoking it again changes nothing, so there is nothing to announce.
    async with unit_of_work(session_factory) as uow:
        await AccountsService(uow).revoke_api_key(admin, key_id, revocations=revocations)
        await uow.commit()
    assert revocations.announced == [key_id]


async def test_a_revocation_rolled_back_is_never_announced(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin, key_id = await _organization_with_key(session_factory)
    revocations = RecordedRevocations()
    async with unit_of_work(session_factory) as uow:
        await AccountsService(uow).revoke_api_key(admin, key_id, revocations=revocations)
        await uow.rollback()
    assert revocations.announced == []
