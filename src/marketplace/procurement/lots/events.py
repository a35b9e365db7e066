"""Bulog lot events for partners (`lots.domain.events`), emitted in the
transaction of the change: the cooperative follows its lot, the Bulog branch its purchase
orders (it is told of each new one and of its receipt)."""

from __future__ import annotations

from marketplace import outbox
from marketplace.db import UnitOfWork
from marketplace.procurement.lots.domain.aggregation import ReceiptAllocation
from marketplace.procurement.lots.domain.events import (
    BulogLotClosed,
    BulogLotReceived,
    BulogLotSubmitted,
)
from marketplace.procurement.lots.models import BulogLot, BulogPurchaseOrder


def closed(uow: UnitOfWork, lot: BulogLot) -> None:
    """The lot stopped pooling (`status` `cancelled` when there was nothing to order)."""
    assert lot.closed_at is not None
    outbox.emit(
        uow,
        BulogLotClosed(
            lot_id=lot.id,
            status=lot.status,
            reason=lot.close_reason,
            product_id=lot.product_id,
            bulog_organization_id=lot.bulog_organization_id,
            total_demand=lot.total_demand,
            order_quantity=lot.order_quantity,
            surplus=lot.surplus,
            closed_at=lot.closed_at,
        ),
        organization_id=lot.cooperative_organization_id,
    )


def submitted(uow: UnitOfWork, lot: BulogLot, po: BulogPurchaseOrder) -> None:
    """The lot's purchase order went to the Bulog branch."""
    event = BulogLotSubmitted(
        lot_id=lot.id,
        purchase_order_id=po.id,
        bulog_organization_id=po.bulog_organization_id,
        cooperative_organization_id=po.cooperative_organization_id,
        product_id=po.product_id,
        quantity=po.quantity,
        unit_price=po.unit_price,
        total=po.total,
    )
    for organization_id in sorted({lot.cooperative_organization_id, lot.bulog_organization_id}):
        outbox.emit(uow, event, organization_id=organization_id)


def received(
    uow: UnitOfWork,
    lot: BulogLot,
    po: BulogPurchaseOrder | None,
    allocation: ReceiptAllocation,
) -> None:
    """The cooperative received the delivery: what arrived and where it went."""
    assert lot.received_at is not None
    event = BulogLotReceived(
        lot_id=lot.id,
        purchase_order_id=po.id if po else None,
        product_id=lot.product_id,
        ordered_quantity=lot.order_quantity,
        received_quantity=lot.received_quantity,
        released=allocation.released_total,
        unfilled=allocation.unfilled_total,
        surplus=allocation.surplus,
        received_at=lot.received_at,
    )
    for organization_id in sorted({lot.cooperative_organization_id, lot.bulog_organization_id}):
        outbox.emit(uow, event, organization_id=organization_id)
