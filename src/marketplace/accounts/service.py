"""Use cases of the accounts context. Callers own the transaction (see `marketplace.db`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.exc import IntegrityError

from marketplace import clock
from marketplace.accounts import domain
from marketplace.accounts.domain import OrganizationKind, Principal, Role
from marketplace.accounts.keys import generate_api_key, hash_api_key, looks_like_api_key
from marketplace.accounts.models import ApiKey, Organization
from marketplace.accounts.read_repository import OrganizationReads
from marketplace.accounts.repository import (
    LAST_USED_RESOLUTION,
    ApiKeyRepository,
    OrganizationRepository,
)
from marketplace.accounts.schemas import ApiKeyCreate, OrganizationCreate, OrganizationUpdate
from marketplace.answers import from_positions
from marketplace.db import UnitOfWork
from marketplace.entity_tags import UNCONDITIONAL, IfMatch
from marketplace.errors import Conflict, NotAuthenticated, NotFound
from marketplace.ids import new_id
from marketplace.read_pool import ReadPool

if TYPE_CHECKING:
    from marketplace.accounts.authentication import KeyRevocations

PLATFORM_SLUG = "platform"


def key_hash_of(raw_key: str) -> str:
    """The stored hash of a presented key; a malformed key is refused before any look-up."""
    if not looks_like_api_key(raw_key):
        raise NotAuthenticated("The API key is malformed.")
    return hash_api_key(raw_key)


def last_use_due(last_used_at: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    """Whether a key's last-used time (kept to `LAST_USED_RESOLUTION`) should be written."""
    if last_used_at is None:
        return True
    return (now or dt.datetime.now(dt.UTC)) - last_used_at >= LAST_USED_RESOLUTION


class SlugTaken(Conflict):
    code = "accounts.slug_taken"


class AccountsService:
    def __init__(self, uow: UnitOfWork, key_namespace: str = "mk") -> None:
        self.uow = uow
        self.organizations = OrganizationRepository(uow.session)
        self.keys = ApiKeyRepository(uow.session)
        self.key_namespace = key_namespace

    # --- authentication (the request path is `accounts.authentication`) --------------

    async def authenticate_hash(self, key_hash: str) -> tuple[Principal, dt.datetime | None]:
        """The caller of an active key (by its hash, see `key_hash_of`) and its last use."""
        found = await self.keys.find_active_by_hash(key_hash)
        if found is None:
            raise NotAuthenticated("The API key is unknown or revoked.")
        key_id, organization_id, kind, role, last_used_at = found
        principal = Principal(
            api_key_id=key_id,
            organization_id=organization_id,
            organization_kind=OrganizationKind(kind),
            role=Role(role),
        )
        return principal, last_used_at

    async def record_key_use(self, key_id: uuid.UUID) -> None:
        await self.keys.touch_last_used(key_id)

    # --- organizations ------------------------------------------------------------

    async def create_organization(
        self, principal: Principal | None, data: OrganizationCreate
    ) -> Organization:
        """`principal=None` is the trusted CLI (demo seeding, bootstrap)."""
        if principal is not None:
            principal.require_platform_admin()
        if await self.organizations.get_by_slug(data.slug) is not None:
            raise SlugTaken("An organization with this slug exists.", slug=data.slug)
        organization = Organization(
            id=new_id(),
            kind=data.kind.value,
            name=data.name,
            slug=data.slug,
            region_code=domain.validate_region_code(data.region_code),
            city=data.city,
            time_zone=data.time_zone,  # checked by the schema
            npwp=domain.validate_npwp(data.npwp) if data.npwp else None,
            nik=domain.validate_nik(data.nik) if data.nik else None,
            nib=domain.validate_nib(data.nib) if data.nib else None,
            vat_registered=data.vat_registered,
        )
        self.organizations.add(organization)
        try:
            await self.organizations.flush()
        except IntegrityError as exc:  # a concurrent create with the same slug
            raise SlugTaken("An organization with this slug exists.", slug=data.slug) from exc
        return organization

    async def get_organization(
        self, principal: Principal, organization_id: uuid.UUID
    ) -> Organization:
        principal.ensure_visible(organization_id, "organization")
        organization = await self.organizations.get(organization_id)
        if organization is None:
            raise NotFound("No such organization.")
        return organization

    async def list_organizations(
        self,
        principal: Principal,
        *,
        kind: OrganizationKind | None,
        region_prefix: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Organization]:
        return await self.organizations.list_page(
            scope=principal.scope,
            kind=kind.value if kind else None,
            region_prefix=region_prefix,
            after=after,
            limit=limit,
        )

    async def update_organization(
        self,
        principal: Principal,
        organization_id: uuid.UUID,
        data: OrganizationUpdate,
        if_match: IfMatch = UNCONDITIONAL,
    ) -> Organization:
        principal.ensure_visible(organization_id, "organization")
        principal.require_role(Role.ADMIN)
        principal.acting_for(organization_id)
        organization = await self.organizations.get_locked(organization_id)
        if organization is None:
            raise NotFound("No such organization.")
        # Under the row lock: no other write comes between this comparison and ours.
        if_match.ensure(organization.version)
        changes = {
            f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET
        }
        validators = {
            "region_code": domain.validate_region_code,
            "npwp": domain.validate_npwp,
            "nik": domain.validate_nik,
            "nib": domain.validate_nib,
        }
        for field, value in changes.items():
            validate = validators.get(field)
            setattr(organization, field, validate(value) if validate and value else value)
        await self.organizations.flush()
        return organization

    # --- API keys -------------------------------------------------------------------

    async def create_api_key(
        self, principal: Principal | None, organization_id: uuid.UUID, data: ApiKeyCreate
    ) -> tuple[ApiKey, str]:
        if principal is not None:
            principal.ensure_visible(organization_id, "organization")
            principal.require_role(Role.ADMIN)
            principal.acting_for(organization_id)
        organization = await self.organizations.get(organization_id)
        if organization is None:
            raise NotFound("No such organization.")
        generated = generate_api_key(self.key_namespace)
        key = ApiKey(
            id=new_id(),
            organization_id=organization_id,
            role=data.role.value,
            name=data.name,
            prefix=generated.prefix,
            key_hash=generated.key_hash,
        )
        self.keys.add(key)
        await self.organizations.flush()
        return key, generated.key

    async def list_api_keys(
        self,
        principal: Principal,
        organization_id: uuid.UUID,
        *,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[ApiKey]:
        principal.ensure_visible(organization_id, "organization")
        principal.require_role(Role.ADMIN)
        if await self.organizations.get(organization_id) is None:
            raise NotFound("No such organization.")
        return await self.keys.list_for_organization(organization_id, after=after, limit=limit)

    async def revoke_api_key(
        self, principal: Principal, key_id: uuid.UUID, *, revocations: KeyRevocations
    ) -> ApiKey:
        """Revoke a key; once the revocation commits, every process forgets the key."""
        key = await self.keys.get(key_id)
        if key is None or not principal.can_see_organization(key.organization_id):
            raise NotFound("No such API key.")
        principal.require_role(Role.ADMIN)
        principal.acting_for(key.organization_id, "API key")
        if key.revoked_at is None:
            key.revoked_at = dt.datetime.now(dt.UTC)
            await self.organizations.flush()
            revoked_id = key.id
            # Registered here, in the unit of work that revokes: announced only after its
            # commit, and never for a revocation rolled back.
            self.uow.after_commit(lambda: revocations.announce(revoked_id))
        return key

    async def ensure_platform_organization(self) -> Organization:
        existing = await self.organizations.get_by_slug(PLATFORM_SLUG)
        if existing is not None:
            return existing
        return await self.create_organization(
            None,
            OrganizationCreate(
                kind=OrganizationKind.PLATFORM,
                name="Koperasi Marketplace Platform",
                slug=PLATFORM_SLUG,
                region_code="31",
                city="Jakarta",
            ),
        )


class OrganizationRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What other contexts may know of an organization."""

    id: uuid.UUID
    kind: OrganizationKind
    name: str
    slug: str
    region_code: str
    city: str
    time_zone: str
    npwp: str | None
    nib: str | None
    vat_registered: bool

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The date `moment` falls on in the organization's calendar."""
        return clock.local_date(moment, self.time_zone)

    def today(self) -> dt.date:
        """Today in the organization's calendar: the "today" of its business rules."""
        return clock.today_in(self.time_zone)


# The record's fields, which are the table's column names, in the record's order.
_RECORD_COLUMNS = tuple(f.name for f in msgspec.structs.fields(OrganizationRecord))


def organization_record(o: Organization) -> OrganizationRecord:
    return msgspec.convert(o, OrganizationRecord, from_attributes=True)


class OrganizationDirectory:
    """Read-only organization look-ups for other contexts, inside their unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.organizations = OrganizationRepository(uow.session)

    async def get(self, organization_id: uuid.UUID) -> OrganizationRecord | None:
        found = await self.organizations.get(organization_id)
        return organization_record(found) if found else None

    async def time_zone_of(self, organization_id: uuid.UUID) -> str | None:
        """The organization's time zone; None if there is no such organization."""
        return await self.organizations.time_zone(organization_id)

    async def get_many(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, OrganizationRecord]:
        rows = await self.organizations.columns_of_many(ids, _RECORD_COLUMNS)
        return {record.id: record for record in from_positions(OrganizationRecord, rows)}

    async def today_of(self, organization_id: uuid.UUID) -> dt.date:
        """Today in the organization's calendar (`clock.DEFAULT_TIME_ZONE` if unknown)."""
        found = await self.get(organization_id)
        return found.today() if found else clock.today_in(clock.DEFAULT_TIME_ZONE)

    async def of_kind(self, kind: OrganizationKind) -> list[OrganizationRecord]:
        """Every organization of a kind (few: e.g. the Bulog branches), in id order."""
        return [organization_record(o) for o in await self.organizations.of_kind(kind.value)]


class OrganizationReadService:
    """`AccountsService.get_organization` without a unit of work, for the API's read."""

    def __init__(self, reads: ReadPool) -> None:
        self.organizations = OrganizationReads(reads)

    async def organization(
        self, principal: Principal, organization_id: uuid.UUID
    ) -> tuple[dict[str, Any], int]:
        """The organization's answer columns (`read_repository.ORGANIZATION_COLUMNS`) and
        its version; not the caller's own (nor the platform's view) is not found."""
        principal.ensure_visible(organization_id, "organization")
        found = await self.organizations.organization(organization_id)
        if found is None:
            raise NotFound("No such organization.")
        return found
