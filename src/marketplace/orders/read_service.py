"""Use case: one order for the API's read, through the read pool (`read_repository`)."""

from __future__ import annotations

import uuid

from marketplace.accounts import Principal
from marketplace.errors import NotFound
from marketplace.orders.read_repository import OrderRead, OrderReads
from marketplace.read_pool import ReadPool


class OrderReadService:
    """`OrderService.view` without a unit of work, for the API's single-order read."""

    def __init__(self, reads: ReadPool) -> None:
        self.orders = OrderReads(reads)

    async def view(self, principal: Principal, order_id: uuid.UUID) -> OrderRead:
        read = await self.orders.visible_order(
            order_id, is_platform=principal.is_platform, organization_id=principal.organization_id
        )
        if read is None or (not read.legs and not principal.is_party(read.buyer_organization_id)):
            raise NotFound("No such order.")
        return read


__all__ = ["OrderRead", "OrderReadService"]
