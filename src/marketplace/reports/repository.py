"""Queries of the reports context on its own table (oversight grants); never commits.

The figures themselves are read by `figures_repository`."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.reports.models import Oversight


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
