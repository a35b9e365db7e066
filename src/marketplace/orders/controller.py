"""HTTP endpoints of the orders context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, Parameter

from marketplace.answers import from_row
from marketplace.db import UnitOfWork
from marketplace.dependencies import Caller, UoW
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_date_cursor,
    decode_id_cursor,
    paginate,
    problem_responses,
)
from marketplace.idempotency import IdempotencyKeyHeader, run_idempotent
from marketplace.orders.budget_service import BudgetFigures, BudgetService
from marketplace.orders.domain.lifecycle import LegStatus, OrderStatus
from marketplace.orders.domain.placed import (
    BudgetCheck,
    PlacedLeg,
    PlacedLine,
    PlacedOrderRow,
    PricedPlan,
)
from marketplace.orders.models import Order, OrderLeg, OrderLine, StandingOrder, StandingOrderRun
from marketplace.orders.placement import OrderPlacement, placement_policy
from marketplace.orders.schemas import (
    BudgetCheckOut,
    BudgetPeriodCreate,
    BudgetPeriodOut,
    BudgetPeriodPage,
    BudgetReportOut,
    DeliveryOut,
    HeldBackOut,
    LegDelivery,
    LegOut,
    LegPage,
    OrderCreate,
    OrderLineOut,
    OrderOut,
    OrderPage,
    OrderPreviewOut,
    PlannedLegOut,
    PortionBandOut,
    ShortfallOut,
    SpendLine,
    StandingOrderCreate,
    StandingOrderOut,
    StandingOrderUpdate,
    StandingRunOut,
)
from marketplace.orders.service import OrderService, OrderView
from marketplace.orders.standing import StandingOrderService


def leg_out(leg: OrderLeg | PlacedLeg) -> LegOut:
    return from_row(LegOut, leg, currency="IDR")


def order_out(
    order: Order | PlacedOrderRow,
    lines: Sequence[OrderLine | PlacedLine],
    legs: Sequence[OrderLeg | PlacedLeg],
    *,
    full: bool,
) -> OrderOut:
    """`full` for the buyer and the platform; a supplier sees totals of its own legs."""
    totals: dict[str, int] = {}
    if not full:
        subtotal = sum(leg.subtotal for leg in legs)
        vat = sum(leg.vat_amount for leg in legs)
        totals = {
            "subtotal": subtotal,
            "vat_total": vat,
            "levy_total": sum(leg.levy_amount for leg in legs),
            "total": subtotal + vat,
            "credited_total": sum(leg.credited_amount for leg in legs),
        }
    return from_row(
        OrderOut,
        order,
        delivery=DeliveryOut(
            date=order.delivery_date,
            region_code=order.delivery_region_code,
            address=order.delivery_address,
        ),
        lines=[from_row(OrderLineOut, line) for line in lines],
        legs=[leg_out(leg) for leg in legs],
        currency="IDR",
        **totals,
    )


def view_out(view: OrderView, principal_org: uuid.UUID, is_platform: bool) -> OrderOut:
    full = is_platform or principal_org == view.order.buyer_organization_id
    return order_out(view.order, view.lines, view.legs, full=full)


def preview_out(plan: PricedPlan, budget: BudgetCheck | None) -> OrderPreviewOut:
    return OrderPreviewOut(
        legs=[
            PlannedLegOut(
                line_no=leg.planned.line_no,
                kind=leg.planned.kind,
                product_id=leg.planned.product_id,
                listing_id=leg.planned.listing_id,
                contract_id=leg.planned.contract_id,
                supplier_organization_id=leg.planned.supplier_org_id,
                owner_organization_id=leg.planned.owner_org_id,
                quantity=leg.planned.quantity,
                unit_price=leg.planned.unit_price,
                subtotal=leg.planned.line_total,
                vat_amount=leg.vat_amount,
                levy_amount=leg.planned.levy_amount,
            )
            for leg in plan.legs
        ],
        shortfalls=[
            from_row(
                ShortfallOut,
                s,
                held_back_above_cap=[
                    from_row(HeldBackOut, h, currency="IDR") for h in s.held_back_above_cap
                ],
            )
            for s in plan.shortfalls
        ],
        complete=not plan.shortfalls,
        subtotal=plan.subtotal,
        vat_total=plan.vat_total,
        levy_total=plan.levy_total,
        total=plan.total,
        currency="IDR",
        budget=BudgetCheckOut(
            budget_period_id=budget.period_id,
            envelope=budget.envelope,
            committed=budget.committed,
            remaining=budget.envelope - budget.committed,
            remaining_after_order=budget.envelope - budget.committed - plan.total,
        )
        if budget
        else None,
    )


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


def placement(uow: UnitOfWork, state: State) -> OrderPlacement:
    settings = state.settings
    return OrderPlacement(
        uow,
        placement_policy(settings),
        delivery_horizon_days=settings.order_delivery_horizon_days,
    )


class OrderController(Controller):
    path = "/v1"
    tags = ["orders"]

    @post(
        "/orders",
        operation_id="placeOrder",
        summary="Place a bulk order; it is split across sources and stock is reserved",
        description=(
            "Requires an `Idempotency-Key`. Refused with 422 `orders.insufficient_supply` "
            "(naming each short line) when anything can't be supplied — never a partial order."
        ),
        responses=problem_responses(401, 403, 409, 422),
    )
    async def place_order(
        self,
        data: JSONBody[OrderCreate],
        uow: UoW,
        principal: Caller,
        state: State,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[OrderOut]:
        async def action() -> OrderOut:
            placed = await placement(uow, state).place(principal, data)
            return order_out(placed.order, placed.lines, placed.legs, full=True)

        return await run_idempotent(
            uow,
            organization_id=principal.organization_id,
            key=idempotency_key,
            operation="orders.place",
            request=data,
            response_type=OrderOut,
            action=action,
        )

    @post(
        "/orders/preview",
        operation_id="previewOrder",
        summary="See the split, prices, VAT and budget without reserving anything",
        status_code=200,
        responses=problem_responses(401, 403, 422),
    )
    async def preview_order(
        self, data: JSONBody[OrderCreate], uow: UoW, principal: Caller, state: State
    ) -> OrderPreviewOut:
        plan, budget = await placement(uow, state).preview(principal, data)
        return preview_out(plan, budget)

    @get(
        "/orders",
        operation_id="listOrders",
        summary="Your orders, newest first",
        responses=problem_responses(401),
    )
    async def list_orders(
        self,
        uow: UoW,
        principal: Caller,
        status: Annotated[OrderStatus | None, Parameter()] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> OrderPage:
        views = await OrderService(uow).orders_of(
            principal, status=status, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(views, limit, lambda r: [r.order.id])
        return OrderPage(
            items=[view_out(v, principal.organization_id, principal.is_platform) for v in page],
            next_cursor=next_cursor,
        )

    @get(
        "/orders/{order_id:uuid}",
        operation_id="getOrder",
        summary="One order (suppliers see their own legs)",
        responses=problem_responses(401, 404),
    )
    async def get_order(
        self, order_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> OrderOut:
        view = await OrderService(uow).view(principal, order_id)
        return view_out(view, principal.organization_id, principal.is_platform)

    @post(
        "/orders/{order_id:uuid}/cancel",
        operation_id="cancelOrder",
        summary="Cancel before anything shipped; reservations are released",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def cancel_order(
        self, order_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> OrderOut:
        view = await OrderService(uow).cancel(principal, order_id)
        await uow.commit()
        return view_out(view, principal.organization_id, principal.is_platform)

    @get(
        "/legs",
        operation_id="listLegs",
        summary="A supplier's work queue of order legs",
        responses=problem_responses(401),
    )
    async def list_legs(
        self,
        uow: UoW,
        principal: Caller,
        status: Annotated[LegStatus | None, Parameter()] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> LegPage:
        legs = await OrderService(uow).work_queue(
            principal, status=status, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(legs, limit, lambda r: [r.id])
        return LegPage(
            items=[leg_out(leg) for leg in page],
            next_cursor=next_cursor,
        )

    @post(
        "/legs/{leg_id:uuid}/ship",
        operation_id="shipLeg",
        summary="The supplier ships a leg; stock leaves on hand and reserved",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def ship_leg(self, leg_id: FromPath[uuid.UUID], uow: UoW, principal: Caller) -> LegOut:
        leg = await OrderService(uow).ship(principal, leg_id)
        await uow.commit()
        return leg_out(leg)

    @post(
        "/legs/{leg_id:uuid}/deliver",
        operation_id="deliverLeg",
        summary="The buyer's goods receipt; a short delivery is recorded and credited",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def deliver_leg(
        self, leg_id: FromPath[uuid.UUID], data: JSONBody[LegDelivery], uow: UoW, principal: Caller
    ) -> LegOut:
        leg = await OrderService(uow).deliver(principal, leg_id, data.received_quantity, data.note)
        await uow.commit()
        return leg_out(leg)


class KitchenBudgetController(Controller):
    path = "/v1/kitchens/{kitchen_id:uuid}/budget-periods"
    tags = ["kitchen budgets"]

    @post(
        "/",
        operation_id="createBudgetPeriod",
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
        summary="Delete a standing order: it places no more orders; placed ones stay",
        status_code=204,
        responses=problem_responses(401, 403, 404),
    )
    async def delete_standing(
        self, standing_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> None:
        await StandingOrderService(uow).delete(principal, standing_id)
        await uow.commit()
