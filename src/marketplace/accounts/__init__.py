"""Accounts: organizations, API keys and who the caller is.

Owns organizations (their kind, region, tax ids) and API keys (prefixed, stored only as
a hash, one organization and one role each, revocable). Every other context learns the
caller from `Principal` (found by `authentication.Authenticator`, cached per process and
forgotten everywhere once a revocation commits) and reads organizations through
`OrganizationDirectory`. Visibility is one rule, `Principal.is_party`/`require_party`: an
object of another organization is reported as not found, never as forbidden; every list
query is narrowed by the caller's `Scope`.
"""

from marketplace.accounts.domain import OrganizationKind, Principal, Role, Scope
from marketplace.accounts.models import Organization
from marketplace.accounts.service import OrganizationDirectory, OrganizationRecord

__all__ = [
    "Organization",
    "OrganizationDirectory",
    "OrganizationKind",
    "OrganizationRecord",
    "Principal",
    "Role",
    "Scope",
]
