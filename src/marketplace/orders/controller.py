"""HTTP endpoints of the orders context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, Parameter

from marketplace.answers import from_row
from marketplace.db import UnitOfWork
from marketplace.dependencies import READ_POOL, Caller, UoW, read_pool
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_id_cursor,
    paginate,
    problem_responses,
)
from marketplace.idempotency import IdempotencyKeyHeader, run_idempotent
from marketplace.orders.domain.lifecycle import LegStatus, OrderStatus
from marketplace.orders.domain.placed import (
    BudgetCheck,
    PlacedLeg,
    PlacedLine,
    PlacedOrderRow,
    PricedPlan,
)
from marketplace.orders.models import Order, OrderLeg, OrderLine
from marketplace.orders.placement import OrderPlacement, placement_policy
from marketplace.orders.read_service import OrderRead, OrderReadService
from marketplace.orders.schemas import (
    BudgetCheckOut,
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
    SupplyShortfallOut,
)
from marketplace.orders.service import OrderService, OrderView


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
    totals = {} if full else _totals_of(legs)
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


def _totals_of(legs: Sequence[OrderLeg | PlacedLeg | LegOut]) -> dict[str, int]:
    """A supplier's view of an order: the totals of its own legs."""
    subtotal = sum(leg.subtotal for leg in legs)
    vat = sum(leg.vat_amount for leg in legs)
    return {
        "subtotal": subtotal,
        "vat_total": vat,
        "levy_total": sum(leg.levy_amount for leg in legs),
        "total": subtotal + vat,
        "credited_total": sum(leg.credited_amount for leg in legs),
    }


def read_out(read: OrderRead, *, full: bool) -> OrderOut:
    """The answer of the read pool's order (`read_repository`), as `order_out` makes it
    from mapped rows."""
    row = read.row
    fields = {name: row[name] for name in _ORDER_COLUMNS}
    fields |= {} if full else _totals_of(read.legs)
    delivery = DeliveryOut(
        date=row["delivery_date"],
        region_code=row["delivery_region_code"],
        address=row["delivery_address"],
    )
    return msgspec.convert(
        {**fields, "delivery": delivery, "lines": read.lines, "legs": read.legs, "currency": "IDR"},
        OrderOut,
        from_attributes=True,
    )


# The order's own columns in its answer (the rest are built: delivery, lines, legs).
_ORDER_COLUMNS = tuple(
    f.name
    for f in msgspec.structs.fields(OrderOut)
    if f.name not in {"delivery", "lines", "legs", "currency"}
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
                SupplyShortfallOut,
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
        description=(
            "Shows what placing this order would do, without reserving anything: the "
            "split into legs per supplier, prices, VAT, delivery dates and the kitchen "
            "budget check. Needs a `buyer` key. Not enough supply is 422 "
            "`orders.insufficient_supply` with the shortfall per line; a price above the "
            "cap is 422 `orders.price_above_cap`."
        ),
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
        description=(
            "The orders your organization placed as buyer, newest first; the platform "
            "sees all. Suppliers find the legs they must ship in `GET /v1/legs`. `status`"
            " filters; paginated."
        ),
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
        description=(
            "One order with its legs, lines, VAT and totals. The buyer sees all of it; a "
            "supplier only its own legs; another organization gets 404."
        ),
        dependencies=READ_POOL,
        summary="One order (suppliers see their own legs)",
        responses=problem_responses(401, 404),
    )
    async def get_order(
        self, order_id: FromPath[uuid.UUID], state: State, principal: Caller
    ) -> OrderOut:
        read = await OrderReadService(read_pool(state)).view(principal, order_id)
        return read_out(read, full=principal.is_party(read.buyer_organization_id))

    @post(
        "/orders/{order_id:uuid}/cancel",
        operation_id="cancelOrder",
        description=(
            "The buyer's `buyer` key cancels an order before any leg shipped: its stock "
            "reservations and trade-contract call-offs are released. An order with a "
            "shipped leg is 409 `orders.not_cancellable`."
        ),
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
        description=(
            "A supplier's work queue: the order legs it supplies, oldest first; the "
            "platform sees all. `status` filters (`reserved` is what is still to ship)."
        ),
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
        description=(
            "The supplier's `seller` key ships a leg: its reserved units leave stock on "
            "hand. A leg waiting for its Bulog lot is 409 `orders.leg_waits_for_lot`; a "
            "leg already shipped or cancelled is 409 `state.invalid_transition`."
        ),
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
        description=(
            "The buyer's `buyer` key records the goods receipt of a shipped leg: the "
            "quantity received and a note. A short delivery is recorded and the missing "
            "units are credited to the buyer. Receiving more than shipped is 422 "
            "`orders.received_more_than_shipped`; a leg not shipped yet is 409 "
            "`state.invalid_transition`."
        ),
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
