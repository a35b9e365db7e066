"""All queries of inter-city trade contracts; never commits."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts import Organization, Scope
from marketplace.procurement.contracts.models import (
    TradeAllotment,
    TradeAllotmentWeek,
    TradeContract,
    TradeShipment,
)


class SourceRow(NamedTuple):
    contract_id: uuid.UUID
    allotment_id: uuid.UUID
    product_id: uuid.UUID
    supplier_id: uuid.UUID
    city_code: str
    remaining: int
    unit_price: int
    levy_bps: int
    supplier_region_code: str


class WeekRow(NamedTuple):
    week_start: dt.date
    called_off: int
    shipped: int


class ContractRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add_all(self, objects: Sequence[object]) -> None:
        self.session.add_all(objects)

    async def flush(self) -> None:
        await self.session.flush()

    async def get(self, contract_id: uuid.UUID) -> TradeContract | None:
        return await self.session.get(TradeContract, contract_id)

    async def page(
        self, *, scope: Scope, after: uuid.UUID | None, limit: int
    ) -> list[TradeContract]:
        """Contracts newest first; scoped to those the organization signed, buys under or
        supplies."""
        stmt = select(TradeContract).order_by(TradeContract.id.desc()).limit(limit)
        stmt = scope.narrow(
            stmt,
            lambda org: or_(
                TradeContract.trade_center_organization_id == org,
                TradeContract.counterparty_organization_id == org,
                TradeContract.id.in_(
                    select(TradeAllotment.contract_id).where(
                        TradeAllotment.supplier_organization_id == org
                    )
                ),
            ),
        )
        if after is not None:
            stmt = stmt.where(TradeContract.id < after)
        return list((await self.session.execute(stmt)).scalars())

    async def lock_contract(self, contract_id: uuid.UUID) -> TradeContract | None:
        stmt = (
            select(TradeContract)
            .where(TradeContract.id == contract_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def allotments(
        self, contract_id: uuid.UUID, *, for_update: bool = False
    ) -> list[TradeAllotment]:
        if for_update:
            # Lock in id order (like every allotment lock), then hand back in list order.
            locked = (
                select(TradeAllotment)
                .where(TradeAllotment.contract_id == contract_id)
                .order_by(TradeAllotment.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            rows = list((await self.session.execute(locked)).scalars())
            return sorted(rows, key=lambda a: a.position)
        stmt = (
            select(TradeAllotment)
            .where(TradeAllotment.contract_id == contract_id)
            .order_by(TradeAllotment.position)
        )
        return list((await self.session.execute(stmt)).scalars())

    @staticmethod
    def _covering(product_ids: Sequence[uuid.UUID], region: str, day: dt.date) -> Any:
        """Active contracts of these products covering `day` whose counterparty city
        contains `region` (where an order is delivered)."""
        return and_(
            TradeContract.product_id.in_(set(product_ids)),
            TradeContract.status == "active",
            TradeContract.start_date <= day,
            TradeContract.end_date >= day,
            or_(
                TradeContract.counterparty_city_code == region,
                func.strpos(region, TradeContract.counterparty_city_code + ".") == 1,
            ),
        )

    async def lock_covering_allotments(
        self, product_ids: Sequence[uuid.UUID], region: str, day: dt.date
    ) -> None:
        """Row locks, in id order, on every allotment of the contracts that could serve
        an order delivered to `region` on `day` — before their volume is read, so what is
        read is what the call-off will find (see `ContractCalloffs.offers`)."""
        if not product_ids:
            return
        stmt = (
            select(TradeAllotment.id)
            .join(TradeContract, TradeContract.id == TradeAllotment.contract_id)
            .where(self._covering(product_ids, region, day))
            .order_by(TradeAllotment.id)
            .with_for_update(of=TradeAllotment)
        )
        await self.session.execute(stmt)

    async def sources(
        self, product_ids: Sequence[uuid.UUID], region: str, day: dt.date, week: dt.date
    ) -> list[SourceRow]:
        """Allotments with weekly volume left on `week`, of active contracts covering
        `day` whose counterparty city contains `region`, with their supplier's region."""
        if not product_ids:
            return []
        used = func.coalesce(TradeAllotmentWeek.called_off, 0)
        stmt = (
            select(
                TradeContract.id,
                TradeAllotment.id,
                TradeContract.product_id,
                TradeAllotment.supplier_organization_id,
                TradeContract.counterparty_city_code,
                TradeAllotment.quantity - used,
                TradeContract.unit_price,
                TradeContract.levy_bps,
                Organization.region_code,
            )
            .join(TradeAllotment, TradeAllotment.contract_id == TradeContract.id)
            .join(Organization, Organization.id == TradeAllotment.supplier_organization_id)
            .outerjoin(
                TradeAllotmentWeek,
                and_(
                    TradeAllotmentWeek.allotment_id == TradeAllotment.id,
                    TradeAllotmentWeek.week_start == week,
                ),
            )
            .where(self._covering(product_ids, region, day), TradeAllotment.quantity - used > 0)
        )
        return [SourceRow(*row) for row in await self.session.execute(stmt)]

    async def lock_allotments(self, allotment_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Row locks in id order; returns each allotment's weekly quantity."""
        if not allotment_ids:
            return {}
        stmt = (
            select(TradeAllotment.id, TradeAllotment.quantity)
            .where(TradeAllotment.id.in_(sorted(set(allotment_ids))))
            .order_by(TradeAllotment.id)
            .with_for_update()
        )
        return {row[0]: row[1] for row in await self.session.execute(stmt)}

    async def call_off(self, rows: Sequence[tuple[uuid.UUID, dt.date, int]]) -> set[uuid.UUID]:
        """Add (allotment, week, quantity) call-offs where the allotment has that much
        left that week; returns the allotments that took theirs. Lock them first."""
        if not rows:
            return set()
        ids = [r[0] for r in rows]
        weeks = [r[1] for r in rows]
        await self.session.execute(
            text(
                """
                INSERT INTO trade_allotment_weeks (allotment_id, week_start, called_off, shipped)
                SELECT v.id, v.week, 0, 0
                FROM unnest(CAST(:ids AS uuid[]), CAST(:weeks AS date[])) AS v(id, week)
                ON CONFLICT DO NOTHING
                """
            ),
            {"ids": ids, "weeks": weeks},
        )
        result = await self.session.execute(
            text(
                """
                UPDATE trade_allotment_weeks AS w SET called_off = w.called_off + v.q
                FROM unnest(CAST(:ids AS uuid[]), CAST(:weeks AS date[]),
                            CAST(:qs AS bigint[])) AS v(id, week, q),
                     trade_allotments AS a
                WHERE w.allotment_id = v.id AND w.week_start = v.week AND a.id = v.id
                  AND w.called_off + v.q <= a.quantity
                RETURNING w.allotment_id
                """
            ),
            {"ids": ids, "weeks": weeks, "qs": [r[2] for r in rows]},
        )
        return {row[0] for row in result}

    async def give_back(self, rows: Sequence[tuple[uuid.UUID, dt.date, int]]) -> None:
        """Return cancelled call-offs' volume (never below what was shipped)."""
        if not rows:
            return
        await self.session.execute(
            text(
                """
                UPDATE trade_allotment_weeks AS w
                SET called_off = greatest(w.shipped, w.called_off - v.q)
                FROM unnest(CAST(:ids AS uuid[]), CAST(:weeks AS date[]),
                            CAST(:qs AS bigint[])) AS v(id, week, q)
                WHERE w.allotment_id = v.id AND w.week_start = v.week
                """
            ),
            {
                "ids": [r[0] for r in rows],
                "weeks": [r[1] for r in rows],
                "qs": [r[2] for r in rows],
            },
        )

    async def add_shipped(self, allotment_id: uuid.UUID, week: dt.date, quantity: int) -> bool:
        """Count `quantity` as shipped in `week`, never beyond what was called off."""
        result = await self.session.execute(
            update(TradeAllotmentWeek)
            .where(
                TradeAllotmentWeek.allotment_id == allotment_id,
                TradeAllotmentWeek.week_start == week,
                TradeAllotmentWeek.shipped + quantity <= TradeAllotmentWeek.called_off,
            )
            .values(shipped=TradeAllotmentWeek.shipped + quantity)
            .returning(TradeAllotmentWeek.allotment_id)
        )
        return result.first() is not None

    async def most_called_off_since(self, allotment_id: uuid.UUID, week: dt.date) -> int:
        stmt = select(func.coalesce(func.max(TradeAllotmentWeek.called_off), 0)).where(
            TradeAllotmentWeek.allotment_id == allotment_id,
            TradeAllotmentWeek.week_start >= week,
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def weeks(self, contract_id: uuid.UUID) -> list[WeekRow]:
        stmt = (
            select(
                TradeAllotmentWeek.week_start,
                func.sum(TradeAllotmentWeek.called_off),
                func.sum(TradeAllotmentWeek.shipped),
            )
            .join(TradeAllotment, TradeAllotment.id == TradeAllotmentWeek.allotment_id)
            .where(TradeAllotment.contract_id == contract_id)
            .group_by(TradeAllotmentWeek.week_start)
        )
        return [WeekRow(r[0], int(r[1]), int(r[2])) for r in await self.session.execute(stmt)]

    async def levy_by_week(self, contract_id: uuid.UUID) -> dict[dt.date, tuple[int, int]]:
        """Per week: (shipped amount, levy) of the contract's shipments."""
        stmt = (
            select(
                TradeShipment.week_start,
                func.sum(TradeShipment.amount),
                func.sum(TradeShipment.levy_amount),
            )
            .where(TradeShipment.contract_id == contract_id)
            .group_by(TradeShipment.week_start)
        )
        return {r[0]: (int(r[1]), int(r[2])) for r in await self.session.execute(stmt)}

    async def shipment_of_leg(self, leg_id: uuid.UUID) -> TradeShipment | None:
        stmt = select(TradeShipment).where(TradeShipment.order_leg_id == leg_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()
