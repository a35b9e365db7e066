"""Use cases of people: invitations, accepting one, signing in, acting for an organization.

Callers own the transaction (see `marketplace.db`). A failed sign-in is recorded and
answered as `None` rather than raised, so the caller commits the record of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

import msgspec
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.domain import OrganizationKind, Principal, Role
from marketplace.accounts.domain.people import (
    INVITATION_LIFETIME,
    SIGN_IN_WINDOW,
    InvalidPhone,
    InvitationUnusable,
    SignInRefused,
    TooManyAttempts,
    check_password,
    invitation_usable,
    normalize_phone,
    retry_after,
)
from marketplace.accounts.models import (
    Invitation,
    Membership,
    Organization,
    Person,
    SignInFailure,
)
from marketplace.accounts.passwords import hash_password, verify_password
from marketplace.accounts.repository import (
    OrganizationRepository,
    PeopleRepository,
    WebSessionRepository,
)
from marketplace.db import UnitOfWork
from marketplace.errors import Conflict, NotFound
from marketplace.ids import new_id


class PersonRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    phone: str
    email: str | None


class MembershipRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An organization a person acts for, and as what."""

    organization_id: uuid.UUID
    organization_name: str
    organization_kind: OrganizationKind
    time_zone: str
    role: Role
    # Where it is: a page that needs the organization's place reads it from here, not
    # with another query per view.
    region_code: str
    city: str


class IssuedInvitation(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    token: str  # shown once, in the link; only its hash is kept
    expires_at: dt.datetime


class AlreadyMember(Conflict):
    code = "accounts.already_member"


def invitation_link(base_url: str, token: str) -> str:
    """The sign-up page of an invitation (served by the pages at `/undangan/{token}`)."""
    return base_url.rstrip("/") + f"/undangan/{token}"


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _person_record(person: Person) -> PersonRecord:
    return PersonRecord(id=person.id, name=person.name, phone=person.phone, email=person.email)


class PeopleService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.people = PeopleRepository(uow.session)
        self.organizations = OrganizationRepository(uow.session)
        self.web_sessions = WebSessionRepository(uow.session)

    async def invite(
        self,
        principal: Principal | None,
        organization_id: uuid.UUID,
        *,
        phone: str,
        role: Role,
        now: dt.datetime,
    ) -> IssuedInvitation:
        """An organization admin's one-time sign-up link (`principal=None`: the CLI)."""
        if principal is not None:
            principal.ensure_visible(organization_id, "organization")
            principal.require_role(Role.ADMIN)
            principal.acting_for(organization_id)
        if await self.organizations.get(organization_id) is None:
            raise NotFound("No such organization.")
        e164 = normalize_phone(phone)
        existing = await self.people.person_by_phone(e164)
        if existing is not None and await self.people.membership(existing.id, organization_id):
            raise AlreadyMember("This person is already a member.", phone=e164)
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            id=new_id(),
            organization_id=organization_id,
            role=role,
            phone=e164,
            token_hash=invitation_token_hash(token),
            expires_at=now + INVITATION_LIFETIME,
        )
        self.people.add(invitation)
        await self.people.flush()
        return IssuedInvitation(id=invitation.id, token=token, expires_at=invitation.expires_at)

    async def pending_invitation(self, token: str, now: dt.datetime) -> tuple[str, str]:
        """(phone, organization name) of a usable invitation, else `InvitationUnusable`."""
        invitation = await self._usable_invitation(token, now)
        organization = await self.organizations.get(invitation.organization_id)
        return invitation.phone, organization.name if organization else ""

    async def accept_invitation(
        self, token: str, *, name: str, password: str, email: str | None, now: dt.datetime
    ) -> PersonRecord:
        """Spend the link: a new person (or one already signed up, by their password) becomes
        a member of the inviting organization."""
        invitation = await self._usable_invitation(token, now)
        person = await self.people.person_by_phone(invitation.phone)
        if person is None:
            person = Person(
                id=new_id(),
                name=name.strip(),
                phone=invitation.phone,
                email=(email or "").strip() or None,
                password_hash=await hash_password(check_password(password)),
            )
            self.people.add(person)
            await self._flush_once(person.phone)
        elif not await verify_password(person.password_hash, password):
            raise SignInRefused("This number has an account: use its password.", field="password")
        invitation.used_at = now
        if await self.people.membership(person.id, invitation.organization_id) is None:
            self.people.add(
                Membership(
                    id=new_id(),
                    person_id=person.id,
                    organization_id=invitation.organization_id,
                    role=invitation.role,
                )
            )
        await self.people.flush()
        return _person_record(person)

    async def _flush_once(self, phone: str) -> None:
        try:
            await self.people.flush()
        except IntegrityError as exc:  # the same number signed up concurrently
            raise InvitationUnusable("This invitation was just used.", phone=phone) from exc

    async def _usable_invitation(self, token: str, now: dt.datetime) -> Invitation:
        invitation = await self.people.invitation_by_hash(invitation_token_hash(token))
        if invitation is None or not invitation_usable(
            invitation.expires_at, invitation.used_at, now
        ):
            raise InvitationUnusable("This invitation link is unknown, used or expired.")
        return invitation

    async def authenticate(
        self, phone: str, password: str, *, address: str, now: dt.datetime
    ) -> PersonRecord | None:
        """The person, or None after recording the failure (the caller commits it).

        Too many recent failures for the number or from the address → `TooManyAttempts`,
        before the password is looked at.
        """
        try:
            e164 = normalize_phone(phone)
        except InvalidPhone:  # counted as written: no one has it
            e164 = phone.strip()[:32]
        by_phone, by_address, oldest = await self.people.failures_since(
            phone=e164, address=address, since=now - SIGN_IN_WINDOW
        )
        wait = retry_after(by_phone, by_address, oldest, now)
        if wait is not None:
            raise TooManyAttempts(
                "Too many failed sign-ins; try again later.", retry_after_seconds=wait
            )
        person = await self.people.person_by_phone(e164)
        if await verify_password(person.password_hash if person else None, password):
            assert person is not None
            return _person_record(person)
        self.people.add(SignInFailure(id=new_id(), phone=e164, address=address[:64], at=now))
        await self.people.forget_failures_before(now - SIGN_IN_WINDOW)
        await self.people.flush()
        return None

    async def sweep(self, now: dt.datetime) -> int:
        """Page sessions past their expiry and failed sign-ins older than the throttle's
        window: nothing reads them again (a session is looked up only while unexpired)."""
        sessions = await self.web_sessions.delete_expired(now)
        failures = await self.people.forget_failures_before(now - SIGN_IN_WINDOW)
        return sessions + failures

    async def ensure_member(
        self, *, phone: str, name: str, password: str, organization_id: uuid.UUID, role: Role
    ) -> PersonRecord:
        """The trusted CLI's way (demo people): the person with this number, made if missing,
        a member of the organization with the role."""
        e164 = normalize_phone(phone)
        person = await self.people.person_by_phone(e164)
        if person is None:
            person = Person(
                id=new_id(),
                name=name,
                phone=e164,
                email=None,
                password_hash=await hash_password(check_password(password)),
            )
            self.people.add(person)
            await self._flush_once(e164)
        if await self.people.membership(person.id, organization_id) is None:
            self.people.add(
                Membership(
                    id=new_id(), person_id=person.id, organization_id=organization_id, role=role
                )
            )
            await self.people.flush()
        return _person_record(person)

    async def person(self, person_id: uuid.UUID) -> PersonRecord | None:
        found = await self.people.person(person_id)
        return _person_record(found) if found else None

    async def memberships(self, person_id: uuid.UUID) -> list[MembershipRecord]:
        return [_membership_record(m, o) for m, o in await self.people.memberships_of(person_id)]

    async def acting_as(self, person_id: uuid.UUID, organization_id: uuid.UUID) -> Principal:
        """The caller a person is while acting for one of their organizations; any other
        organization is not found."""
        found = await self.people.membership(person_id, organization_id)
        if found is None:
            raise NotFound("No such organization.")
        return acting_for(person_id, _membership_record(*found))

    async def signed_in_as(
        self, person_id: uuid.UUID, organization_id: uuid.UUID | None
    ) -> tuple[PersonRecord | None, MembershipRecord | None]:
        """A page view's person and their membership of the organization they act for, in
        one query: no person (gone since), or no membership (none chosen, or it ended)."""
        row = await self.people.person_acting_for(person_id, organization_id)
        if row is None:
            return None, None
        person = PersonRecord(id=row.id, name=row.name, phone=row.phone, email=row.email)
        if row.role is None:
            return person, None
        return person, MembershipRecord(
            organization_id=row.organization_id,
            organization_name=row.organization_name,
            organization_kind=OrganizationKind(row.organization_kind),
            time_zone=row.time_zone,
            role=Role(row.role),
            region_code=row.region_code,
            city=row.city,
        )


def acting_for(person_id: uuid.UUID, membership: MembershipRecord) -> Principal:
    """The caller a person is while acting through one of their memberships (already read
    with the person: a page view needs no other query for it, `signed_in_as`)."""
    return Principal(
        person_id=person_id,
        organization_id=membership.organization_id,
        organization_kind=membership.organization_kind,
        role=membership.role,
    )


def _membership_record(membership: Membership, organization: Organization) -> MembershipRecord:
    return MembershipRecord(
        organization_id=organization.id,
        organization_name=organization.name,
        organization_kind=OrganizationKind(organization.kind),
        time_zone=organization.time_zone,
        role=Role(membership.role),
        region_code=organization.region_code,
        city=organization.city,
    )
