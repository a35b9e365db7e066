"""Pure account rules: organization kinds, roles, id shapes, the authenticated caller."""

from __future__ import annotations

import enum
import functools
import re
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any, Protocol, Self, TypeVar

import msgspec

from marketplace.errors import NotFound, PermissionDenied, ValidationFailed


class OrganizationKind(enum.StrEnum):
    COOPERATIVE = "cooperative"
    UMKM = "umkm"
    BULOG = "bulog"
    BUMN = "bumn"
    KITCHEN = "kitchen"
    FOOD_STALL = "food_stall"
    GOVERNMENT = "government"
    TRADE_CENTER = "trade_center"
    PLATFORM = "platform"


class Role(enum.StrEnum):
    ADMIN = "admin"
    BUYER = "buyer"
    SELLER = "seller"
    FINANCE = "finance"
    PROCUREMENT = "procurement"
    VIEWER = "viewer"


class InvalidIdentifier(ValidationFailed):
    code = "accounts.invalid_identifier"


# Kemendagri region codes: province "35", city "35.76", district "35.76.02",
# village "35.76.02.1001".
REGION_CODE_PATTERN = r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"
_REGION = re.compile(REGION_CODE_PATTERN)
_NPWP = re.compile(r"^\d{16}$")
_NIK = re.compile(r"^\d{16}$")
_NIB = re.compile(r"^\d{13}$")
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


def normalize_digits(value: str) -> str:
    """Tax ids are often written with dots and dashes (`12.345.678.9-012.000`)."""
    return re.sub(r"[.\-\s]", "", value)


def validate_npwp(value: str) -> str:
    """16 digits; the legacy 15-digit NPWP becomes 16 with a leading zero (PMK 112/2022)."""
    digits = normalize_digits(value)
    if len(digits) == 15 and digits.isdigit():
        digits = "0" + digits
    if not _NPWP.match(digits):
        raise InvalidIdentifier(
            "NPWP must be 16 digits (or the legacy 15).", field="npwp", value=value
        )
    return digits


def validate_nik(value: str) -> str:
    digits = normalize_digits(value)
    if not _NIK.match(digits):
        raise InvalidIdentifier("NIK must be 16 digits.", field="nik", value=value)
    return digits


def validate_nib(value: str) -> str:
    digits = normalize_digits(value)
    if not _NIB.match(digits):
        raise InvalidIdentifier("NIB must be 13 digits.", field="nib", value=value)
    return digits


def validate_region_code(value: str) -> str:
    if not _REGION.match(value):
        raise InvalidIdentifier(
            "Region code must be a Kemendagri code such as 35, 35.76, 35.76.02 or 35.76.02.1001.",
            field="region_code",
            value=value,
        )
    return value


@functools.cache
def known_time_zones() -> frozenset[str]:
    """The IANA zone names of the installed tz database.

    Membership, not `ZoneInfo(value)`: the latter reads files named by the value, so a
    region directory (`Asia`) raises IsADirectoryError, and a path (`../x`) ValueError.
    """
    return frozenset(zoneinfo.available_timezones())


def time_zone_problem(value: str) -> str | None:
    """Why `value` is not a time zone an organization may have, or None."""
    if value in known_time_zones():
        return None
    return f"`time_zone` must be an IANA time zone such as Asia/Jakarta, not {value!r}"


class Narrowable(Protocol):
    """A statement that takes more conditions (SQLAlchemy's `Select` fits)."""

    def where(self, *conditions: Any) -> Self: ...


StatementT = TypeVar("StatementT", bound=Narrowable)


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """The rows a caller may list: every organization's (the platform) or one's.

    Every list query takes one (tests/test_list_scopes.py) and narrows itself with
    `narrow`, the one place a list is cut to the caller's organization.
    """

    organization_id: uuid.UUID | None

    @classmethod
    def everything(cls) -> Scope:
        return cls(organization_id=None)

    @classmethod
    def of(cls, organization_id: uuid.UUID) -> Scope:
        return cls(organization_id=organization_id)

    @property
    def is_everything(self) -> bool:
        return self.organization_id is None

    def narrow(self, statement: StatementT, party: Callable[[uuid.UUID], Any]) -> StatementT:
        """`statement` cut to the rows `party(organization_id)` says the organization is
        a party to; unchanged for everything."""
        if self.organization_id is None:
            return statement
        return statement.where(party(self.organization_id))


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller, acting for one organization with one role: an API key
    (`api_key_id`) or a person signed in to the pages (`person_id`). What it does is
    recorded under whichever of the two it is."""

    organization_id: uuid.UUID
    organization_kind: OrganizationKind
    role: Role
    api_key_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None

    @property
    def key_id(self) -> uuid.UUID:
        """The API key of a caller that came with one, as every API request does."""
        if self.api_key_id is None:
            raise TypeError("This caller is a person, not an API key.")
        return self.api_key_id

    @property
    def is_platform(self) -> bool:
        return self.organization_kind is OrganizationKind.PLATFORM

    @property
    def is_platform_admin(self) -> bool:
        return self.is_platform and self.role is Role.ADMIN

    def require_role(self, *roles: Role) -> None:
        """Admins may do what any role of their organization may do."""
        if self.role is Role.ADMIN or self.role in roles:
            return
        raise PermissionDenied(
            f"This needs one of the roles {', '.join(r.value for r in roles)}.",
            role=self.role.value,
            required=[r.value for r in roles],
        )

    def require_kind(self, *kinds: OrganizationKind) -> None:
        if self.organization_kind in kinds or self.is_platform:
            return
        raise PermissionDenied(
            "Your organization's kind may not do this.",
            organization_kind=self.organization_kind.value,
            required=[k.value for k in kinds],
        )

    def require_platform_admin(self) -> None:
        if not self.is_platform_admin:
            raise PermissionDenied("Only a platform administrator may do this.")

    @property
    def scope(self) -> Scope:
        """What the caller's lists hold: everything for the platform, else its own."""
        return Scope.everything() if self.is_platform else Scope.of(self.organization_id)

    def is_party(self, *organization_ids: uuid.UUID | None) -> bool:
        """Whether the caller may see an object these organizations are parties to: it is
        one of them, or the platform."""
        return self.is_platform or self.organization_id in organization_ids

    def require_party(self, *organization_ids: uuid.UUID | None, what: str = "object") -> None:
        """Another organization's object is reported as missing, never as forbidden."""
        if not self.is_party(*organization_ids):
            raise NotFound(f"No such {what}.")

    def can_see_organization(self, organization_id: uuid.UUID) -> bool:
        return self.is_party(organization_id)

    def ensure_visible(self, organization_id: uuid.UUID, what: str = "object") -> None:
        """Another organization's object is reported as missing, never as forbidden."""
        self.require_party(organization_id, what=what)

    def acting_for(self, organization_id: uuid.UUID, what: str = "organization") -> None:
        """Write access: your own organization, or any as a platform administrator."""
        if organization_id == self.organization_id:
            return
        if self.is_platform:
            if self.role is not Role.ADMIN:
                raise PermissionDenied("Only a platform administrator may act for others.")
            return
        raise NotFound(f"No such {what}.")


from marketplace.accounts.domain.people import (  # noqa: E402 (below the shared vocabulary)
    InvalidPhone,
    InvitationUnusable,
    SignInRefused,
    TooManyAttempts,
    WeakPassword,
    normalize_phone,
)

__all__ = [
    "REGION_CODE_PATTERN",
    "SLUG_PATTERN",
    "InvalidIdentifier",
    "InvalidPhone",
    "InvitationUnusable",
    "Narrowable",
    "OrganizationKind",
    "Principal",
    "Role",
    "Scope",
    "SignInRefused",
    "StatementT",
    "TooManyAttempts",
    "WeakPassword",
    "known_time_zones",
    "normalize_digits",
    "normalize_phone",
    "time_zone_problem",
    "validate_nib",
    "validate_nik",
    "validate_npwp",
    "validate_region_code",
]
