"""Tables of the accounts context."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, func
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
