"""Tables of the accounts context."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.accounts.domain import OrganizationKind, Role
from marketplace.db import Base, IdMixin, TimestampMixin, enum_column


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organizations"

    kind: Mapped[OrganizationKind] = mapped_column(enum_column(OrganizationKind, 32))
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    region_code: Mapped[str] = mapped_column(String(13))
    city: Mapped[str] = mapped_column(String(100))
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta")
    npwp: Mapped[str | None] = mapped_column(String(16))
    nik: Mapped[str | None] = mapped_column(String(16))
    nib: Mapped[str | None] = mapped_column(String(13))
    vat_registered: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # The edit version, the `ETag` (`marketplace.entity_tags`): every ORM UPDATE bumps it.
    version: Mapped[int] = mapped_column(server_default=text("1"))
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        Index("ix_organizations_kind", "kind"),
        Index("ix_organizations_region_code", "region_code"),
    )


class ApiKey(IdMixin, TimestampMixin, Base):
    __tablename__ = "api_keys"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role, 32))
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class Person(IdMixin, TimestampMixin, Base):
    """Someone who signs in to the pages with a phone number and a password."""

    __tablename__ = "people"

    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(16), unique=True)  # E.164, `+62…`
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(200))


class Membership(IdMixin, TimestampMixin, Base):
    """A person acts for an organization with one role (the roles API keys have)."""

    __tablename__ = "memberships"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role, 32))

    __table_args__ = (UniqueConstraint("person_id", "organization_id"),)


class Invitation(IdMixin, TimestampMixin, Base):
    """A one-time sign-up link: only its token's SHA-256 is kept."""

    __tablename__ = "invitations"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role, 32))
    phone: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class SignInFailure(IdMixin, Base):
    """One failed sign-in, counted per phone number and per client address."""

    __tablename__ = "sign_in_failures"

    phone: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        Index("ix_sign_in_failures_phone_at", "phone", "at"),
        Index("ix_sign_in_failures_address_at", "address", "at"),
    )


class WebSession(Base):
    """The server-side store of the pages' sessions (the cookie holds only the key)."""

    __tablename__ = "web_sessions"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime | None] = mapped_column(index=True)
