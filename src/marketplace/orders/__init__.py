"""Orders: a buyer organization's order, its lines, and the legs it is split into.

Owns the split of order lines into legs (one supplier's share of one line, of one kind:
stock, consignment, Bulog lot or trade contract), stock reservation at placement, and the
order and leg state machines. Invariants: every requested unit lands in exactly one leg;
an order is cancellable only before anything has shipped; the order's status is derived
from its legs. Talks to listings (stock), consignment (sales on delivery), procurement
(lots and call-offs) and the ledger (money events) through their public APIs and the outbox.
"""

from marketplace.orders.budget_service import BudgetFigures, BudgetService
from marketplace.orders.domain.fortnight import MIN_SUPPLIERS
from marketplace.orders.domain.lifecycle import LegStatus, can_cancel_order
from marketplace.orders.placement import OrderPlacement, placement_policy
from marketplace.orders.report_service import DeliveryRow, KitchenReport, KitchenReportService
from marketplace.orders.schemas import (
    BudgetPeriodCreate,
    DeliveryIn,
    OrderCreate,
    OrderLineIn,
    StandingOrderCreate,
    StandingOrderUpdate,
)
from marketplace.orders.service import OrderService, OrderView, TradeTotal
from marketplace.orders.standing import StandingOrderService

__all__ = [
    "MIN_SUPPLIERS",
    "BudgetFigures",
    "BudgetPeriodCreate",
    "BudgetService",
    "DeliveryIn",
    "DeliveryRow",
    "KitchenReport",
    "KitchenReportService",
    "LegStatus",
    "OrderCreate",
    "OrderLineIn",
    "OrderPlacement",
    "OrderService",
    "OrderView",
    "StandingOrderCreate",
    "StandingOrderService",
    "StandingOrderUpdate",
    "TradeTotal",
    "can_cancel_order",
    "placement_policy",
]
