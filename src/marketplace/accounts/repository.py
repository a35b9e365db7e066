"""All queries of the accounts context."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, cast, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.domain import Scope
from marketplace.accounts.models import (
    ApiKey,
    Invitation,
    Membership,
    Organization,
    Person,
    SignInFailure,
    WebSession,
)
from marketplace.driver import DriverStatement, session_driver

# Recording every request's use would turn each read into a write; a minute is precise
# enough to tell which keys are still in use.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_TIME_ZONE = DriverStatement(
    text("SELECT time_zone FROM organizations WHERE id = CAST(:organization_id AS uuid)")
)


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, organization_id: uuid.UUID) -> Organization | None:
        return await self.session.get(Organization, organization_id)

    async def time_zone(self, organization_id: uuid.UUID) -> str | None:
        """The organization's time zone (None: no such organization), one column through
        the driver: placement's first statement."""
        driver = await session_driver(self.session)
        rows = await driver.fetch(_TIME_ZONE, {"organization_id": organization_id})
        return str(rows[0][0]) if rows else None

    async def get_locked(self, organization_id: uuid.UUID) -> Organization | None:
        """The organization, its row locked until the transaction ends (to change it)."""
        return await self.session.get(
            Organization, organization_id, with_for_update=True, populate_existing=True
        )

    async def get_by_slug(self, slug: str) -> Organization | None:
        result = await self.session.execute(select(Organization).where(Organization.slug == slug))
        return result.scalar_one_or_none()

    async def columns_of_many(
        self, ids: Sequence[uuid.UUID], columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """The named columns of these organizations, as plain tuples (no ORM objects). One
        array parameter, not an IN list: one SQL text (one prepared statement) whatever
        the number of ids, and nothing rendered per call."""
        if not ids:
            return []
        table = Organization.__table__.c
        stmt = select(*(table[name] for name in columns)).where(
            table.id == func.any(cast(list(ids), ARRAY(PG_UUID)))
        )
        return [tuple(row) for row in await self.session.execute(stmt)]

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


class PeopleRepository:
    """People, their memberships and invitations, failed sign-ins."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def person(self, person_id: uuid.UUID) -> Person | None:
        return await self.session.get(Person, person_id)

    async def person_acting_for(
        self, person_id: uuid.UUID, organization_id: uuid.UUID | None
    ) -> Any | None:
        """The person's columns, then their membership of the organization (its columns,
        all null when they have none): plain columns, one statement for a page view."""
        membership = and_(
            Membership.person_id == Person.id, Membership.organization_id == organization_id
        )
        result = await self.session.execute(
            select(
                Person.id,
                Person.name,
                Person.phone,
                Person.email,
                Membership.role,
                Organization.id.label("organization_id"),
                Organization.name.label("organization_name"),
                Organization.kind.label("organization_kind"),
                Organization.time_zone,
                Organization.region_code,
                Organization.city,
            )
            .select_from(Person)
            .outerjoin(Membership, membership)
            .outerjoin(Organization, Organization.id == Membership.organization_id)
            .where(Person.id == person_id)
        )
        return result.one_or_none()

    async def person_by_phone(self, phone: str) -> Person | None:
        result = await self.session.execute(select(Person).where(Person.phone == phone))
        return result.scalar_one_or_none()

    async def memberships_of(self, person_id: uuid.UUID) -> list[tuple[Membership, Organization]]:
        result = await self.session.execute(
            select(Membership, Organization)
            .join(Organization, Organization.id == Membership.organization_id)
            .where(Membership.person_id == person_id)
            .order_by(Organization.name, Organization.id)
        )
        return [(m, o) for m, o in result.all()]

    async def membership(
        self, person_id: uuid.UUID, organization_id: uuid.UUID
    ) -> tuple[Membership, Organization] | None:
        result = await self.session.execute(
            select(Membership, Organization)
            .join(Organization, Organization.id == Membership.organization_id)
            .where(Membership.person_id == person_id, Membership.organization_id == organization_id)
        )
        row = result.one_or_none()
        return (row[0], row[1]) if row else None

    async def invitation_by_hash(self, token_hash: str) -> Invitation | None:
        result = await self.session.execute(
            select(Invitation).where(Invitation.token_hash == token_hash).with_for_update()
        )
        return result.scalar_one_or_none()

    async def failures_since(
        self, *, phone: str, address: str, since: dt.datetime
    ) -> tuple[int, int, dt.datetime | None]:
        """(failures for the phone, failures from the address, the oldest of them) since."""
        by_phone = SignInFailure.phone == phone
        by_address = SignInFailure.address == address
        result = await self.session.execute(
            select(
                func.count().filter(by_phone),
                func.count().filter(by_address),
                func.min(SignInFailure.at),
            ).where(SignInFailure.at >= since, by_phone | by_address)
        )
        phone_count, address_count, oldest = result.one()
        return int(phone_count), int(address_count), oldest

    async def forget_failures_before(self, moment: dt.datetime) -> int:
        result = await self.session.execute(delete(SignInFailure).where(SignInFailure.at < moment))
        return int(getattr(result, "rowcount", 0) or 0)

    def add(self, row: Person | Membership | Invitation | SignInFailure) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()


class WebSessionRepository:
    """The pages' server-side sessions (the store under Litestar's session middleware)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str, now: dt.datetime) -> WebSession | None:
        result = await self.session.execute(
            select(WebSession).where(
                WebSession.key == key,
                WebSession.expires_at.is_(None) | (WebSession.expires_at > now),
            )
        )
        return result.scalar_one_or_none()

    async def put(self, key: str, value: bytes, expires_at: dt.datetime | None) -> None:
        statement = pg_insert(WebSession).values(key=key, value=value, expires_at=expires_at)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[WebSession.key],
                set_={"value": statement.excluded.value, "expires_at": expires_at},
            )
        )

    async def delete(self, key: str) -> None:
        await self.session.execute(delete(WebSession).where(WebSession.key == key))

    async def delete_all(self) -> None:
        await self.session.execute(delete(WebSession))

    async def delete_expired(self, now: dt.datetime) -> int:
        result = await self.session.execute(delete(WebSession).where(WebSession.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)
