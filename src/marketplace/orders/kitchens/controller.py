"""Endpoints of a kitchen's own planning: its budget periods and its standing orders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from marketplace.dependencies import Caller, UoW
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_date_cursor,
    paginate,
    problem_responses,
)
from marketplace.orders.budget_service import BudgetFigures, BudgetService
from marketplace.orders.models import StandingOrder, StandingOrderRun
from marketplace.orders.schemas import (
    BudgetPeriodCreate,
    BudgetPeriodOut,
    BudgetPeriodPage,
    BudgetReportOut,
    OrderLineOut,
    PortionBandOut,
    SpendLine,
    StandingOrderCreate,
    StandingOrderOut,
    StandingOrderUpdate,
    StandingRunOut,
)
from marketplace.orders.standing import StandingOrderService


def budget_out(f: BudgetFigures) -> BudgetPeriodOut:
    p = f.period
    return BudgetPeriodOut(
        id=p.id,
        kitchen_organization_id=p.kitchen_organization_id,
        start_date=p.start_date,
        end_date=p.end_date,
        operating_days=p.operating_days,
        bands=[PortionBandOut(**b) for b in p.bands],
        envelope=p.envelope,
        committed=f.committed,
        spent=f.spent,
        remaining=f.remaining,
        currency="IDR",
        created_at=p.created_at,
    )


def standing_out(s: StandingOrder, runs: Sequence[StandingOrderRun]) -> StandingOrderOut:
    return StandingOrderOut(
        id=s.id,
        buyer_organization_id=s.buyer_organization_id,
        name=s.name,
        weekdays={
            day: [
                OrderLineOut(
                    line_no=i,
                    product_id=uuid.UUID(line["product_id"]),
                    quantity=line["quantity"],
                    listing_id=None,
                )
                for i, line in enumerate(lines, start=1)
            ]
            for day, lines in sorted(s.weekdays.items())
        },
        delivery_region_code=s.delivery_region_code,
        delivery_address=s.delivery_address,
        active=s.active,
        created_at=s.created_at,
        updated_at=s.updated_at,
        recent_runs=[msgspec.convert(run, StandingRunOut, from_attributes=True) for run in runs],
    )


async def standing_answer(service: StandingOrderService, s: StandingOrder) -> StandingOrderOut:
    runs = await service.recent_runs([s])
    return standing_out(s, runs[s.id])


class KitchenBudgetController(Controller):
    path = "/v1/kitchens/{kitchen_id:uuid}/budget-periods"
    tags = ["kitchen budgets"]

    @post(
        "/",
        operation_id="createBudgetPeriod",
        description=(
            "A kitchen's `buyer` or `finance` key opens a budget envelope from "
            "`start_date` for `operating_days` (10 by default): portions per day at Rp "
            "8.000 or Rp 10.000 a portion, in one or more bands. Orders delivered in the "
            "period are checked against it. Overlapping an existing period is 409 "
            "`orders.budget_period_overlaps`; a zero or negative envelope is 422 "
            "`orders.invalid_budget`."
        ),
        summary="Open a 10-operating-day budget envelope",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def create_period(
        self,
        kitchen_id: FromPath[uuid.UUID],
        data: JSONBody[BudgetPeriodCreate],
        uow: UoW,
        principal: Caller,
    ) -> BudgetPeriodOut:
        figures = await BudgetService(uow).create(principal, kitchen_id, data)
        await uow.commit()
        return budget_out(figures)

    @get(
        "/",
        operation_id="listBudgetPeriods",
        description=(
            "The kitchen's (SPPG) budget periods, latest first, each with its envelope, "
            "committed, spent and remaining rupiah. Visible to the kitchen and the "
            "platform; another kitchen is 404."
        ),
        summary="The kitchen's budget periods, latest first, with their figures",
        responses=problem_responses(400, 401, 404),
    )
    async def list_periods(
        self,
        kitchen_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> BudgetPeriodPage:
        figures = await BudgetService(uow).periods(
            principal, kitchen_id, before=decode_date_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(figures, limit, lambda f: [f.period.start_date])
        return BudgetPeriodPage(items=[budget_out(f) for f in page], next_cursor=next_cursor)

    @get(
        "/{period_id:uuid}",
        operation_id="getBudgetPeriod",
        description=(
            "One budget period: envelope, committed (ordered, not delivered), spent "
            "(delivered) and remaining rupiah."
        ),
        summary="Envelope, committed, spent and remaining",
        responses=problem_responses(401, 404),
    )
    async def get_period(
        self,
        kitchen_id: FromPath[uuid.UUID],
        period_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
    ) -> BudgetPeriodOut:
        return budget_out(await BudgetService(uow).figures(principal, kitchen_id, period_id))

    @get(
        "/{period_id:uuid}/report",
        operation_id="getBudgetReport",
        description=(
            "The usage report of one budget period: spend per product category and per "
            "supplier, and the remainder carried over to the next period."
        ),
        summary="Usage report: spend per category and supplier, carry-over",
        responses=problem_responses(401, 404),
    )
    async def report(
        self,
        kitchen_id: FromPath[uuid.UUID],
        period_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
    ) -> BudgetReportOut:
        report = await BudgetService(uow).report(principal, kitchen_id, period_id)
        return BudgetReportOut(
            period=budget_out(report.figures),
            by_category=[SpendLine(key=k, amount=v) for k, v in report.by_category],
            by_supplier=[SpendLine(key=str(k), amount=v) for k, v in report.by_supplier],
            carry_over=max(0, report.figures.remaining),
            orders=report.orders,
            currency="IDR",
        )


class StandingOrderController(Controller):
    path = "/v1/standing-orders"
    tags = ["orders"]

    @post(
        "/",
        operation_id="createStandingOrder",
        description=(
            "A kitchen's `buyer` key creates a weekly template: products, quantities and "
            "delivery weekdays. The day before each delivery the worker places an order "
            "from it, checked like any order (stock, price caps, budget). Only kitchens "
            "(SPPG) have standing orders."
        ),
        summary="A weekly template the worker turns into orders the day before delivery",
        responses=problem_responses(401, 403, 422),
    )
    async def create(
        self, data: JSONBody[StandingOrderCreate], uow: UoW, principal: Caller
    ) -> StandingOrderOut:
        standing = await StandingOrderService(uow).create(principal, data)
        await uow.commit()
        return standing_out(standing, [])

    @get(
        "/",
        operation_id="listStandingOrders",
        description=(
            "Your kitchen's standing orders, each with its latest runs (the orders it "
            "placed or why it could not)."
        ),
        summary="Your standing orders, each with its latest runs",
        responses=problem_responses(401),
    )
    async def list_standing(self, uow: UoW, principal: Caller) -> list[StandingOrderOut]:
        service = StandingOrderService(uow)
        templates = await service.of_buyer(principal)
        runs = await service.recent_runs(templates)
        return [standing_out(s, runs[s.id]) for s in templates]

    @get(
        "/{standing_id:uuid}",
        operation_id="getStandingOrder",
        description=("One standing order with its latest runs."),
        summary="One standing order, with its latest runs",
        responses=problem_responses(401, 404),
    )
    async def get_standing(
        self, standing_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> StandingOrderOut:
        service = StandingOrderService(uow)
        return await standing_answer(service, await service.get(principal, standing_id))

    @patch(
        "/{standing_id:uuid}",
        operation_id="updateStandingOrder",
        description=(
            "The kitchen's `buyer` key changes the lines or weekdays of a standing order,"
            " or pauses (`active: false`) and resumes it."
        ),
        summary="Change, pause (`active: false`) or resume a standing order",
        responses=problem_responses(400, 401, 403, 404, 422),
    )
    async def update_standing(
        self,
        standing_id: FromPath[uuid.UUID],
        data: JSONBody[StandingOrderUpdate],
        uow: UoW,
        principal: Caller,
    ) -> StandingOrderOut:
        service = StandingOrderService(uow)
        standing = await service.update(principal, standing_id, data)
        answer = await standing_answer(service, standing)
        await uow.commit()
        return answer

    @delete(
        "/{standing_id:uuid}",
        operation_id="deleteStandingOrder",
        description=(
            "The kitchen's `buyer` key deletes a standing order: it places no more "
            "orders; orders already placed stay."
        ),
        summary="Delete a standing order: it places no more orders; placed ones stay",
        status_code=204,
        responses=problem_responses(401, 403, 404),
    )
    async def delete_standing(
        self, standing_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> None:
        await StandingOrderService(uow).delete(principal, standing_id)
        await uow.commit()
