"""Tables of the reports context: which office oversees which cooperatives."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin


class Oversight(IdMixin, TimestampMixin, Base):
    """A government office (Dinas Koperasi) sees the figures of the cooperatives whose
    region code starts with `region_prefix`, against its own programme targets. Granted,
    changed and withdrawn by the platform only."""

    __tablename__ = "report_oversights"

    office_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    region_prefix: Mapped[str] = mapped_column(String(13))
    turnover_target_bps: Mapped[int]
    members_target_bps: Mapped[int]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        # One grant per office: its region and its targets.
        UniqueConstraint("office_organization_id"),
        CheckConstraint(
            "turnover_target_bps >= 0 AND members_target_bps >= 0", name="targets_not_negative"
        ),
    )
