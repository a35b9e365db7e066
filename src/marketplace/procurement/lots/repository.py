"""All queries of Bulog purchase lots; never commits."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts import Scope
from marketplace.procurement.lots.models import BulogDemandLine, BulogLot, BulogPurchaseOrder


class LotKeyRow(NamedTuple):
    cooperative_id: uuid.UUID
    product_id: uuid.UUID
    bulog_id: uuid.UUID


class LotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add_all(self, objects: Sequence[object]) -> None:
        self.session.add_all(objects)

    async def flush(self) -> None:
        await self.session.flush()

    async def open_missing_lots(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert an open lot for each key that has none (one statement)."""
        if not rows:
            return
        stmt = insert(BulogLot).values(list(rows))
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["cooperative_organization_id", "product_id", "bulog_organization_id"],
            index_where=text("status = 'open'"),
        )
        await self.session.execute(stmt)

    async def lock_open_lots(self, keys: Sequence[LotKeyRow]) -> list[BulogLot]:
        """The open lots of these keys, locked in id order."""
        if not keys:
            return []
        stmt = (
            select(BulogLot)
            .where(
                tuple_(
                    BulogLot.cooperative_organization_id,
                    BulogLot.product_id,
                    BulogLot.bulog_organization_id,
                ).in_([tuple(k) for k in keys]),
                BulogLot.status == "open",
            )
            .order_by(BulogLot.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def add_demand(self, totals: Sequence[tuple[uuid.UUID, int]]) -> None:
        if not totals:
            return
        await self.session.execute(
            text(
                """
                UPDATE bulog_lots AS l SET total_demand = l.total_demand + v.q
                FROM unnest(CAST(:ids AS uuid[]), CAST(:qs AS bigint[])) AS v(id, q)
                WHERE l.id = v.id
                """
            ),
            {"ids": [t[0] for t in totals], "qs": [t[1] for t in totals]},
        )

    async def serialize_receipts(self, lot_id: uuid.UUID) -> BulogLot | None:
        """One receipt of a lot at a time, without taking the lot's row lock early (placement
        locks listings before lots; receiving must keep that order). Returns the lot as
        committed by any receipt that ran before."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"bulog_lot_receipt:{lot_id}"},
        )
        stmt = (
            select(BulogLot).where(BulogLot.id == lot_id).execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, lot_id: uuid.UUID, *, for_update: bool = False) -> BulogLot | None:
        stmt = select(BulogLot).where(BulogLot.id == lot_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page(
        self,
        *,
        scope: Scope,
        status: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[BulogLot]:
        stmt = select(BulogLot).order_by(BulogLot.id.desc()).limit(limit)
        stmt = scope.narrow(
            stmt,
            lambda org: or_(
                BulogLot.cooperative_organization_id == org,
                BulogLot.bulog_organization_id == org,
            ),
        )
        if status is not None:
            stmt = stmt.where(BulogLot.status == status)
        if after is not None:
            stmt = stmt.where(BulogLot.id < after)
        return list((await self.session.execute(stmt)).scalars())

    async def demand_lines(self, lot_id: uuid.UUID) -> list[BulogDemandLine]:
        stmt = (
            select(BulogDemandLine)
            .where(BulogDemandLine.lot_id == lot_id)
            .order_by(BulogDemandLine.ordered_at, BulogDemandLine.leg_id)
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def due_lot_ids(self, now: dt.datetime, limit: int) -> list[uuid.UUID]:
        stmt = (
            select(BulogLot.id)
            .where(
                BulogLot.status == "open",
                or_(BulogLot.cutoff_at <= now, BulogLot.total_demand >= BulogLot.lot_size),
            )
            .order_by(BulogLot.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def purchase_order(self, lot_id: uuid.UUID) -> BulogPurchaseOrder | None:
        stmt = select(BulogPurchaseOrder).where(BulogPurchaseOrder.lot_id == lot_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def record_releases(self, rows: Sequence[tuple[uuid.UUID, int, int]]) -> None:
        """(leg id, released, unfilled) for every demand line of a lot, one statement."""
        if not rows:
            return
        await self.session.execute(
            text(
                """
                UPDATE bulog_demand_lines AS d
                SET released_quantity = v.released, unfilled_quantity = v.unfilled
                FROM unnest(CAST(:legs AS uuid[]), CAST(:released AS bigint[]),
                            CAST(:unfilled AS bigint[])) AS v(leg_id, released, unfilled)
                WHERE d.leg_id = v.leg_id
                """
            ),
            {
                "legs": [r[0] for r in rows],
                "released": [r[1] for r in rows],
                "unfilled": [r[2] for r in rows],
            },
        )

    async def lines_of_legs(
        self, leg_ids: Sequence[uuid.UUID]
    ) -> list[tuple[BulogDemandLine, BulogLot]]:
        """The demand lines of these legs with their lots, the lots locked in id order."""
        if not leg_ids:
            return []
        lot_ids = select(BulogDemandLine.lot_id).where(BulogDemandLine.leg_id.in_(leg_ids))
        await self.session.execute(
            select(BulogLot.id)
            .where(BulogLot.id.in_(lot_ids))
            .order_by(BulogLot.id)
            .with_for_update()
        )
        stmt = (
            select(BulogDemandLine, BulogLot)
            .join(BulogLot, BulogLot.id == BulogDemandLine.lot_id)
            .where(BulogDemandLine.leg_id.in_(leg_ids))
            .order_by(BulogDemandLine.id)
            .execution_options(populate_existing=True)
        )
        return [(row[0], row[1]) for row in await self.session.execute(stmt)]

    async def released_quantity(self, leg_id: uuid.UUID) -> int | None:
        """What a received lot released to this leg; None while its lot is not received."""
        stmt = (
            select(BulogDemandLine.released_quantity)
            .join(BulogLot, BulogLot.id == BulogDemandLine.lot_id)
            .where(
                BulogDemandLine.leg_id == leg_id,
                BulogLot.status == "received",
                BulogDemandLine.withdrawn_at.is_(None),
            )
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
