"""Queries of the reports context on its own tables (oversight grants, member counts);
never commits.

The figures themselves are read by `figures_repository`."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.reports.models import MemberCount, Oversight


class OversightRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, oversight: Oversight) -> None:
        self.session.add(oversight)

    async def of_office(self, office_id: uuid.UUID) -> Oversight | None:
        return await self.session.scalar(
            select(Oversight).where(Oversight.office_organization_id == office_id)
        )

    async def delete(self, oversight: Oversight) -> None:
        await self.session.delete(oversight)


# Each cooperative's count at each month: the last recorded at or before it.
_COUNTS_AT = text("""
SELECT c.id AS coop, m.month::date AS month, latest.members
FROM unnest(CAST(:coops AS uuid[])) AS c(id)
CROSS JOIN generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 month')
    AS m(month)
CROSS JOIN LATERAL (
    SELECT r.members FROM report_member_counts r
    WHERE r.cooperative_id = c.id AND r.month <= m.month
    ORDER BY r.month DESC LIMIT 1
) latest
""")


class MemberCountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, cooperative_id: uuid.UUID, month: dt.date, members: int) -> None:
        """The month's count; a later record of the same month replaces it."""
        statement = insert(MemberCount).values(
            cooperative_id=cooperative_id, month=month, members=members
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[MemberCount.cooperative_id, MemberCount.month],
                set_={"members": statement.excluded.members, "recorded_at": func.now()},
            )
        )

    async def counts_at(
        self, cooperatives: list[uuid.UUID], first: dt.date, last: dt.date
    ) -> dict[tuple[uuid.UUID, dt.date], int]:
        rows = await self.session.execute(
            _COUNTS_AT, {"coops": cooperatives, "first": first, "last": last}
        )
        return {(r.coop, r.month): r.members for r in rows}
