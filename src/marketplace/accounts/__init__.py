"""Accounts: organizations, API keys and who the caller is.

Owns organizations (their kind, region, tax ids), people (phone number and argon2
password, members of organizations with a role, invited by one-time links; the pages'
server-side sessions) and API keys (prefixed, stored only as
a hash, one organization and one role each, revocable). Every other context learns the
caller from `Principal` (found by `authentication.Authenticator`, cached per process and
forgotten everywhere once a revocation commits) and reads organizations through
`OrganizationDirectory`. Visibility is one rule, `Principal.is_party`/`require_party`: an
object of another organization is reported as not found, never as forbidden; every list
query is narrowed by the caller's `Scope`.
"""

from marketplace.accounts.domain import OrganizationKind, Principal, Role, Scope
from marketplace.accounts.models import Organization
from marketplace.accounts.people import (
    AlreadyMember,
    IssuedInvitation,
    MembershipRecord,
    PeopleService,
    PersonRecord,
    acting_for,
    invitation_link,
)
from marketplace.accounts.service import OrganizationDirectory, OrganizationRecord
from marketplace.accounts.session_store import PostgresSessionStore

__all__ = [
    "AlreadyMember",
    "IssuedInvitation",
    "MembershipRecord",
    "Organization",
    "OrganizationDirectory",
    "OrganizationKind",
    "OrganizationRecord",
    "PeopleService",
    "PersonRecord",
    "PostgresSessionStore",
    "Principal",
    "Role",
    "Scope",
    "acting_for",
    "invitation_link",
]
