"""The consignment context's queries of agreements, intakes, sales and adjustments, and
the record lock; a settlement's own are in `settlement_repository`. Never commits.

The settlement is set-based and writes nothing on the settled rows: one statement writes
a statement per consignor covering the range of record numbers after its previous one,
summed with an index-only range scan (`SettlementRepository.settle`). The database
refuses overlapping ranges, so a concurrent run that raced this one fails rather than
settling anything twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, TypeVar

from sqlalchemy import (
    Date,
    DateTime,
    Select,
    String,
    bindparam,
    cast,
    column,
    func,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts import Scope
from marketplace.consignment.models import (
    Adjustment,
    Agreement,
    Intake,
    Sale,
    Statement,
)

# An organization's time zone, read for its local calendar (the accounts context owns it).
ORGANIZATION_ZONES = table("organizations", column("id", PG_UUID), column("time_zone", String))


def local_date_in(instant: dt.datetime, time_zone: Any) -> Any:
    """The date `instant` falls on in the organization's zone (`clock.local_date` in SQL)."""
    moment = bindparam("instant", instant, type_=DateTime(timezone=True))
    return cast(func.timezone(time_zone, moment), Date)


class ConsignmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()

    async def lock(self, key: str) -> None:
        """A transaction-scoped advisory lock (serialises one cooperative's runs, etc.)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key}
        )

    # --- agreements ------------------------------------------------------------------

    async def agreement(
        self, agreement_id: uuid.UUID, *, for_update: bool = False
    ) -> Agreement | None:
        stmt = select(Agreement).where(Agreement.id == agreement_id)
        if for_update:
            # The locked row as it is now, even if this session read it before.
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def agreement_for_pair(
        self, cooperative_id: uuid.UUID, consignor_id: uuid.UUID, *, active_only: bool
    ) -> Agreement | None:
        """The active agreement of the pair, else (unless `active_only`) the latest one."""
        stmt = (
            select(Agreement)
            .where(
                Agreement.cooperative_id == cooperative_id, Agreement.consignor_id == consignor_id
            )
            .order_by((Agreement.status == "active").desc(), Agreement.id.desc())
            .limit(1)
        )
        if active_only:
            stmt = stmt.where(Agreement.status == "active")
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def agreements_page(
        self, *, scope: Scope, after: uuid.UUID | None, limit: int
    ) -> list[Agreement]:
        stmt = select(Agreement).order_by(Agreement.id).limit(limit)
        stmt = scope.narrow(
            stmt, lambda org: or_(Agreement.cooperative_id == org, Agreement.consignor_id == org)
        )
        if after is not None:
            stmt = stmt.where(Agreement.id > after)
        return list((await self.session.execute(stmt)).scalars())

    # --- intakes ---------------------------------------------------------------------

    async def intake(self, intake_id: uuid.UUID, *, for_update: bool = False) -> Intake | None:
        stmt = select(Intake).where(Intake.id == intake_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def intakes_page(
        self,
        *,
        scope: Scope,
        status: str | None,
        expired: bool | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Intake]:
        stmt = select(Intake).order_by(Intake.id).limit(limit)
        stmt = scope.narrow(
            stmt, lambda org: or_(Intake.cooperative_id == org, Intake.consignor_id == org)
        )
        if status is not None:
            stmt = stmt.where(Intake.status == status)
        if expired is True:
            stmt = stmt.where(
                Intake.expired_flagged_at.is_not(None),
                Intake.returned_quantity < Intake.received_quantity,
            )
        elif expired is False:
            stmt = stmt.where(Intake.expired_flagged_at.is_(None))
        if after is not None:
            stmt = stmt.where(Intake.id > after)
        return list((await self.session.execute(stmt)).scalars())

    async def flag_expired(self, now: dt.datetime) -> int:
        """Flag confirmed intakes past their expiry date with goods still to hand back; the
        date is past when it is before today in the cooperative's own calendar."""
        result = await self.session.execute(
            update(Intake)
            .where(
                ORGANIZATION_ZONES.c.id == Intake.cooperative_id,
                Intake.status == "confirmed",
                Intake.expiry_date < local_date_in(now, ORGANIZATION_ZONES.c.time_zone),
                Intake.expired_flagged_at.is_(None),
                Intake.returned_quantity < Intake.received_quantity,
            )
            .values(expired_flagged_at=func.now())
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # --- sales -----------------------------------------------------------------------

    async def insert_sale_if_new(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Record the sale of a leg once; None when the leg already has one."""
        stmt = (
            insert(Sale)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Sale.leg_id])
            .returning(Sale.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def sale_by_leg(self, leg_id: uuid.UUID) -> Sale | None:
        return (
            await self.session.execute(select(Sale).where(Sale.leg_id == leg_id))
        ).scalar_one_or_none()

    # --- the record lock ---------------------------------------------------------------

    async def lock_records(self, cooperative_id: uuid.UUID, *, exclusive: bool) -> None:
        """The cooperative's record lock: shared to record a sale, return or adjustment,
        exclusive to run a settlement (see `settlement_lock_key`)."""
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        await self.session.execute(
            text(f"SELECT {function}(hashtextextended(:k, 0))"),
            {"k": settlement_lock_key(cooperative_id)},
        )

    # --- adjustments -------------------------------------------------------------------

    async def adjustment(
        self, adjustment_id: uuid.UUID
    ) -> tuple[Adjustment, uuid.UUID | None] | None:
        """The adjustment with the statement that settled it (None: not yet)."""
        rows = await self.session.execute(_with_statement().where(Adjustment.id == adjustment_id))
        row = rows.first()
        return None if row is None else (row[0], row[1])

    async def adjustments_page(
        self,
        *,
        scope: Scope,
        consignor_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[tuple[Adjustment, uuid.UUID | None]]:
        """Newest first, each with the statement that settled it (None: not yet)."""
        stmt = party_page(
            _with_statement(), Adjustment, scope, consignor_id=consignor_id, after=after
        )
        return [(row[0], row[1]) for row in await self.session.execute(stmt.limit(limit))]


SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


def party_page(
    stmt: SelectT,
    model: type[Statement] | type[Adjustment],
    scope: Scope,
    *,
    consignor_id: uuid.UUID | None,
    after: uuid.UUID | None,
) -> SelectT:
    """A keyset page, newest first, of what the scope's party (the cooperative or the
    consignor) may see, optionally of one consignor."""
    stmt = stmt.order_by(model.id.desc())
    stmt = scope.narrow(
        stmt, lambda org: or_(model.cooperative_id == org, model.consignor_id == org)
    )
    if consignor_id is not None:
        stmt = stmt.where(model.consignor_id == consignor_id)
    if after is not None:
        stmt = stmt.where(model.id < after)
    return stmt


def _with_statement() -> Select[Adjustment, uuid.UUID]:
    """Adjustments with the id of the statement whose range holds each (a range join)."""
    settled_by = (
        select(Statement.id)
        .where(
            Statement.cooperative_id == Adjustment.cooperative_id,
            Statement.consignor_id == Adjustment.consignor_id,
            Statement.to_seq >= Adjustment.seq,
            Statement.from_seq < Adjustment.seq,
        )
        .order_by(Statement.to_seq)
        .limit(1)
        .scalar_subquery()
    )
    return select(Adjustment, settled_by)


def settlement_lock_key(cooperative_id: uuid.UUID) -> str:
    """The advisory lock closing the gap between taking a sequence number and committing.

    A record's ``seq`` comes from a sequence when it is inserted, before its transaction
    commits, so numbers become visible out of order: a sale numbered 41 may commit after
    one numbered 42. If a settlement run chose its range while 41 was still in flight, the
    range (…, 42] would pass over 41 and no later statement (which starts at 42) would
    ever settle it. So every transaction recording a sale, return or adjustment for a
    cooperative holds this lock *shared* from before its insert until it commits, and a
    settlement run holds it *exclusive*: the run waits for the records in flight to
    commit (or roll back) and new ones wait for the run, so when the run reads the
    records, every number below the highest one it sees is either committed and visible
    or was never used. Shared holders do not block each other, so recording stays
    concurrent.
    """
    return f"consignment-records:{cooperative_id}"
