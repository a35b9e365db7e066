"""Tables of the reports context: which office oversees which cooperatives, and the
cooperatives' figures rolled up by month."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
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


def _figure() -> Mapped[int]:
    return mapped_column(BigInteger, server_default=text("0"))


class MonthlyRollup(Base):
    """A cooperative's additive figures of one local month, kept up by the database: the
    sources' triggers add each statement's changes in its own transaction (migration
    0024_report_monthly_rollup holds what each figure is made of). Read, never written,
    by the application."""

    __tablename__ = "report_monthly_rollup"

    cooperative_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    turnover: Mapped[int] = _figure()
    to_kitchens: Mapped[int] = _figure()
    to_stalls: Mapped[int] = _figure()
    to_government: Mapped[int] = _figure()
    to_others: Mapped[int] = _figure()
    consignment_sales: Mapped[int] = _figure()
    consignor_earnings: Mapped[int] = _figure()
    consigned_supply: Mapped[int] = _figure()
    local_consigned_supply: Mapped[int] = _figure()
    bulog_purchases: Mapped[int] = _figure()
    local_bulog_purchases: Mapped[int] = _figure()
    trade_quantity: Mapped[int] = _figure()
    trade_amount: Mapped[int] = _figure()
    trade_levy: Mapped[int] = _figure()


class MonthlyBuyer(Base):
    """A buyer a cooperative delivered to in a month, with how many delivered legs (a
    distinct count can't be summed from monthly counts; it counts those above zero)."""

    __tablename__ = "report_monthly_buyers"

    cooperative_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    buyer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    legs: Mapped[int]


class MonthlyConsignor(Base):
    """A UMKM consignor whose goods sold at a cooperative in a month, with how many sales."""

    __tablename__ = "report_monthly_consignors"

    cooperative_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    consignor_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sales: Mapped[int]


class MemberCount(Base):
    """How many members a cooperative had in a month, as it recorded them (its register
    of members is its own; the latest record of a month stands)."""

    __tablename__ = "report_member_counts"

    cooperative_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    members: Mapped[int]
    recorded_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())

    __table_args__ = (CheckConstraint("members >= 0", name="members_not_negative"),)


def _pending(name: str, *columns: Column[Any]) -> Table:
    """What writers append and the fold sums away: no key, so an insert never waits."""
    return Table(
        name,
        Base.metadata,
        Column("cooperative_id", Uuid(), nullable=False),
        Column("month", Date(), nullable=False),
        *columns,
    )


PENDING_ROLLUP = _pending(
    "report_monthly_rollup_pending",
    *(
        Column(c.name, BigInteger(), server_default=text("0"), nullable=False)
        for c in MonthlyRollup.__table__.columns
        if c.name not in ("cooperative_id", "month")
    ),
)
PENDING_BUYERS = _pending(
    "report_monthly_buyers_pending",
    Column("buyer_id", Uuid(), nullable=False),
    Column("legs", BigInteger(), nullable=False),
)
PENDING_CONSIGNORS = _pending(
    "report_monthly_consignors_pending",
    Column("consignor_id", Uuid(), nullable=False),
    Column("sales", BigInteger(), nullable=False),
)
