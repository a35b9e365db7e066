"""All queries of the accounts context."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.domain import Scope
from marketplace.accounts.models import ApiKey, Organization

# Recording every request's use would turn each read into a write; a minute is precise
# enough to tell which keys are still in use.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, organization_id: uuid.UUID) -> Organization | None:
        return await self.session.get(Organization, organization_id)

    async def get_by_slug(self, slug: str) -> Organization | None:
        result = await self.session.execute(select(Organization).where(Organization.slug == slug))
        return result.scalar_one_or_none()

    async def get_many(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Organization]:
        if not ids:
            return {}
        result = await self.session.execute(select(Organization).where(Organization.id.in_(ids)))
        return {o.id: o for o in result.scalars()}

    async def of_kind(self, kind: str) -> list[Organization]:
        stmt = select(Organization).where(Organization.kind == kind).order_by(Organization.id)
        return list((await self.session.execute(stmt)).scalars())

    async def list_page(
        self,
        *,
        scope: Scope,
        kind: str | None,
        region_prefix: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Organization]:
        query = select(Organization).order_by(Organization.id).limit(limit)
        query = scope.narrow(query, lambda org: Organization.id == org)
        if kind is not None:
            query = query.where(Organization.kind == kind)
        if region_prefix is not None:
            query = query.where(Organization.region_code.startswith(region_prefix))
        if after is not None:
            query = query.where(Organization.id > after)
        return list((await self.session.execute(query)).scalars())

    def add(self, organization: Organization) -> None:
        self.session.add(organization)

    async def flush(self) -> None:
        await self.session.flush()


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find_active_by_hash(
        self, key_hash: str
    ) -> tuple[uuid.UUID, uuid.UUID, str, str, dt.datetime | None] | None:
        """(key id, organization id, organization kind, role, last used) of an active key:
        one statement, plain columns (no ORM objects for the per-request look-up)."""
        result = await self.session.execute(
            select(
                ApiKey.__table__.c.id,
                ApiKey.__table__.c.organization_id,
                Organization.__table__.c.kind,
                ApiKey.__table__.c.role,
                ApiKey.__table__.c.last_used_at,
            )
            .select_from(
                ApiKey.__table__.join(
                    Organization.__table__,
                    Organization.__table__.c.id == ApiKey.__table__.c.organization_id,
                )
            )
            .where(
                ApiKey.__table__.c.key_hash == key_hash,
                ApiKey.__table__.c.revoked_at.is_(None),
            )
        )
        row = result.one_or_none()
        return (row[0], row[1], row[2], row[3], row[4]) if row else None

    async def touch_last_used(self, key_id: uuid.UUID) -> None:
        await self.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                (ApiKey.last_used_at.is_(None))
                | (ApiKey.last_used_at < func.now() - LAST_USED_RESOLUTION),
            )
            .values(last_used_at=func.now())
        )

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def list_for_organization(
        self, organization_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[ApiKey]:
        query: Any = (
            select(ApiKey)
            .where(ApiKey.organization_id == organization_id)
            .order_by(ApiKey.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(ApiKey.id > after)
        return list((await self.session.execute(query)).scalars())

    def add(self, key: ApiKey) -> None:
        self.session.add(key)
