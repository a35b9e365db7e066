"""The kitchen's two-weekly report: deliveries, spend against the envelope, suppliers and
the cooperative and local UMKM shares, for a budget period or a range of delivery dates.

Same visibility as the budget periods (`BudgetService`): another organization's kitchen
or period is not found. Every figure is a SQL aggregate (`report_repository`); only the
shares' division and the supplier rule are done here (`domain.fortnight`).
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from marketplace.accounts import Principal
from marketplace.db import UnitOfWork
from marketplace.orders.budget_service import BudgetService
from marketplace.orders.domain import fortnight
from marketplace.orders.report_repository import (
    DeliveryRow,
    KitchenReportRepository,
    ReportScope,
)


class KitchenReport(msgspec.Struct, frozen=True, kw_only=True):
    kitchen_id: uuid.UUID
    period_id: uuid.UUID | None
    start: dt.date
    end: dt.date
    envelope: int
    """The period's envelope; for a range, those of the budget periods sharing a day with it."""
    spent: int
    deliveries: list[DeliveryRow]
    suppliers: int
    cooperatives: int
    local_umkm: int

    @property
    def remaining(self) -> int:
        return self.envelope - self.spent

    @property
    def suppliers_missing(self) -> int:
        return fortnight.suppliers_missing(self.suppliers)

    @property
    def cooperative_share_tenths(self) -> int:
        return fortnight.share_tenths(self.cooperatives, self.spent)

    @property
    def local_umkm_share_tenths(self) -> int:
        return fortnight.share_tenths(self.local_umkm, self.spent)


class KitchenReportService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.budgets = BudgetService(uow)
        self.repo = KitchenReportRepository(uow.session)

    async def of_period(
        self, principal: Principal, kitchen_id: uuid.UUID, period_id: uuid.UUID
    ) -> KitchenReport:
        figures = await self.budgets.figures(principal, kitchen_id, period_id)
        period = figures.period
        scope = ReportScope(
            kitchen_id=kitchen_id, period_id=period.id, start=period.start_date, end=period.end_date
        )
        return await self._report(scope, period.envelope)

    async def of_dates(
        self, principal: Principal, kitchen_id: uuid.UUID, start: dt.date, end: dt.date
    ) -> KitchenReport:
        await self.budgets.ensure_kitchen(principal, kitchen_id)
        start, end = fortnight.report_range(start, end)
        envelope = await self.repo.envelopes_overlapping(kitchen_id, start, end)
        return await self._report(
            ReportScope(kitchen_id=kitchen_id, start=start, end=end), envelope
        )

    async def _report(self, scope: ReportScope, envelope: int) -> KitchenReport:
        sums = await self.repo.sums(scope)
        return KitchenReport(
            kitchen_id=scope.kitchen_id,
            period_id=scope.period_id,
            start=scope.start,
            end=scope.end,
            envelope=envelope,
            spent=sums.spent,
            deliveries=await self.repo.deliveries(scope),
            suppliers=sums.suppliers,
            cooperatives=sums.cooperatives,
            local_umkm=sums.local_umkm,
        )


__all__ = ["DeliveryRow", "KitchenReport", "KitchenReportService"]
