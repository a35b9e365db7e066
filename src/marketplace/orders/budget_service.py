"""Kitchen budget periods: create, read with committed/spent/remaining, usage report."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from sqlalchemy.exc import IntegrityError

from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import Conflict, NotFound
from marketplace.ids import new_id
from marketplace.orders.domain import budgets
from marketplace.orders.models import BudgetPeriod
from marketplace.orders.repository import BudgetRepository
from marketplace.orders.schemas import BudgetPeriodCreate

# Made by migration 0018: no two periods of one kitchen overlap.
OVERLAP_CONSTRAINT = "ex_budget_periods_no_overlap"


class PeriodOverlaps(Conflict):
    code = "orders.budget_period_overlaps"


class BudgetFigures(msgspec.Struct, frozen=True, kw_only=True):
    period: BudgetPeriod
    committed: int
    spent: int

    @property
    def remaining(self) -> int:
        return self.period.envelope - self.committed


class BudgetReport(msgspec.Struct, frozen=True, kw_only=True):
    figures: BudgetFigures
    by_category: list[tuple[str, int]]
    by_supplier: list[tuple[uuid.UUID, int]]
    orders: int


class BudgetService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.budgets = BudgetRepository(uow.session)
        self.directory = OrganizationDirectory(uow)

    async def _kitchen(self, principal: Principal, kitchen_id: uuid.UUID) -> None:
        await self.ensure_kitchen(principal, kitchen_id)

    async def ensure_kitchen(self, principal: Principal, kitchen_id: uuid.UUID) -> None:
        """A kitchen the caller may see; anything else (another organization's, not a
        kitchen) is not found."""
        principal.ensure_visible(kitchen_id, "kitchen")
        kitchen = await self.directory.get(kitchen_id)
        if kitchen is None or kitchen.kind is not OrganizationKind.KITCHEN:
            raise NotFound("No such kitchen.")

    async def create(
        self, principal: Principal, kitchen_id: uuid.UUID, data: BudgetPeriodCreate
    ) -> BudgetFigures:
        await self._kitchen(principal, kitchen_id)
        principal.require_role(Role.BUYER, Role.FINANCE)
        principal.acting_for(kitchen_id, "kitchen")
        if data.bands is not None:
            bands = [
                budgets.PortionBand(b.portions_per_day, b.rupiah_per_portion) for b in data.bands
            ]
        elif data.portions_per_day is not None and data.rupiah_per_portion is not None:
            bands = [budgets.PortionBand(data.portions_per_day, data.rupiah_per_portion)]
        else:
            raise budgets.InvalidBudget(
                "Give `portions_per_day` and `rupiah_per_portion`, or a list of `bands`."
            )
        end = budgets.period_end(data.start_date, data.operating_days)
        existing = await self.budgets.periods_of(kitchen_id)
        if budgets.overlapping(
            data.start_date, end, [(p.start_date, p.end_date) for p in existing]
        ):
            raise PeriodOverlaps(
                "This period overlaps another of the kitchen's budget periods.",
                start_date=data.start_date,
                end_date=end,
            )
        period = BudgetPeriod(
            id=new_id(),
            kitchen_organization_id=kitchen_id,
            start_date=data.start_date,
            end_date=end,
            operating_days=data.operating_days,
            bands=[msgspec.to_builtins(b) for b in bands],
            envelope=budgets.envelope(data.operating_days, bands),
        )
        self.budgets.add(period)
        try:
            await self.budgets.session.flush()
        except IntegrityError as exc:
            # A concurrent create of an overlapping period committed first (the check
            # above could not see it); the exclusion constraint refused this one.
            if OVERLAP_CONSTRAINT not in str(exc.orig):
                raise
            raise PeriodOverlaps(
                "This period overlaps another of the kitchen's budget periods.",
                start_date=data.start_date,
                end_date=end,
            ) from exc
        await self.budgets.session.refresh(period)
        return BudgetFigures(period=period, committed=0, spent=0)

    async def periods(
        self, principal: Principal, kitchen_id: uuid.UUID, *, before: dt.date | None, limit: int
    ) -> list[BudgetFigures]:
        """The kitchen's periods with their figures, latest first."""
        await self._kitchen(principal, kitchen_id)
        periods = await self.budgets.periods_page(kitchen_id, before=before, limit=limit)
        figures = await self.budgets.committed_and_spent([p.id for p in periods])
        return [
            BudgetFigures(period=p, committed=figures[p.id][0], spent=figures[p.id][1])
            for p in periods
        ]

    async def figures(
        self, principal: Principal, kitchen_id: uuid.UUID, period_id: uuid.UUID
    ) -> BudgetFigures:
        await self._kitchen(principal, kitchen_id)
        period = await self.budgets.get(period_id)
        if period is None or period.kitchen_organization_id != kitchen_id:
            raise NotFound("No such budget period.")
        return BudgetFigures(
            period=period,
            committed=await self.budgets.committed(period_id),
            spent=await self.budgets.spent(period_id),
        )

    async def report(
        self, principal: Principal, kitchen_id: uuid.UUID, period_id: uuid.UUID
    ) -> BudgetReport:
        figures = await self.figures(principal, kitchen_id, period_id)
        by_category, by_supplier = await self.budgets.spend_by(period_id)
        return BudgetReport(
            figures=figures,
            by_category=by_category,
            by_supplier=by_supplier,
            orders=await self.budgets.order_count(period_id),
        )
