"""HTTP request/response shapes of the accounts context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from marketplace.accounts.domain import (
    REGION_CODE_PATTERN,
    SLUG_PATTERN,
    OrganizationKind,
    Role,
    time_zone_problem,
)

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Slug = Annotated[str, msgspec.Meta(min_length=2, max_length=80, pattern=SLUG_PATTERN)]
RegionCode = Annotated[str, msgspec.Meta(pattern=REGION_CODE_PATTERN, examples=["35.76.02.1001"])]
City = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
TimeZone = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=64, examples=["Asia/Jakarta"], description="IANA time zone name"
    ),
]
TaxId = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
KeyName = Annotated[str, msgspec.Meta(max_length=100)]


def require_time_zone(value: str) -> None:
    """The one check of a time zone a request names: msgspec turns the ValueError into a
    validation error at decoding (400 naming the field), before any use case runs."""
    if problem := time_zone_problem(value):
        raise ValueError(problem)


class OrganizationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: OrganizationKind
    name: Name
    slug: Slug
    region_code: RegionCode
    city: City
    time_zone: TimeZone = "Asia/Jakarta"
    npwp: TaxId | None = None
    nik: TaxId | None = None
    nib: TaxId | None = None
    vat_registered: bool = False

    def __post_init__(self) -> None:
        require_time_zone(self.time_zone)


class OrganizationUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields sent are changed; `kind` and `slug` are fixed once created."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    region_code: RegionCode | msgspec.UnsetType = msgspec.UNSET
    city: City | msgspec.UnsetType = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    npwp: TaxId | msgspec.UnsetType | None = msgspec.UNSET
    nik: TaxId | msgspec.UnsetType | None = msgspec.UNSET
    nib: TaxId | msgspec.UnsetType | None = msgspec.UNSET
    vat_registered: bool | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.time_zone is not msgspec.UNSET:
            require_time_zone(self.time_zone)


class OrganizationOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: OrganizationKind
    name: str
    slug: str
    region_code: str
    city: str
    time_zone: str
    npwp: str | None
    nik: str | None
    nib: str | None
    vat_registered: bool
    created_at: dt.datetime


class OrganizationPage(msgspec.Struct, kw_only=True):
    items: list[OrganizationOut]
    next_cursor: str | None


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    role: Role
    name: KeyName = ""


class InvitationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    phone: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=32,
            description="Indonesian mobile number, written as people write it (0812…, +62812…)",
            examples=["0812 3456 7890"],
        ),
    ]
    role: Role


class InvitationCreated(msgspec.Struct, kw_only=True):
    """A one-time sign-up link for one person; the link is shown only in this response."""

    id: uuid.UUID
    organization_id: uuid.UUID
    phone: Annotated[str, msgspec.Meta(description="E.164", examples=["+6281234567890"])]
    role: Role
    expires_at: dt.datetime
    signup_url: str
    whatsapp_url: Annotated[
        str, msgspec.Meta(description="Opens WhatsApp with the invitation written out")
    ]


class ApiKeyOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    organization_id: uuid.UUID
    role: Role
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    """The only time the full key is shown; store it now."""

    id: uuid.UUID
    organization_id: uuid.UUID
    key: str
    prefix: str
    role: Role
    name: str


class ApiKeyPage(msgspec.Struct, kw_only=True):
    items: list[ApiKeyOut]
    next_cursor: str | None


class MeOut(msgspec.Struct, kw_only=True):
    organization: OrganizationOut
    role: Role
    api_key_id: uuid.UUID
