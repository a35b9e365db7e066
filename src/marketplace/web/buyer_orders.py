"""The order a page may show or act on for its buyer."""

from __future__ import annotations

import uuid

from marketplace.accounts import Principal
from marketplace.db import UnitOfWork
from marketplace.errors import NotFound
from marketplace.orders import OrderService, OrderView


async def buyers_order(
    uow: UnitOfWork, principal: Principal, order_id: uuid.UUID
) -> OrderView | None:
    """The order if the acting organization bought it (or is the platform); None otherwise,
    which a page answers with its not-found page, as the API answers 404."""
    try:
        view = await OrderService(uow).view(principal, order_id)
    except NotFound:
        return None
    return view if principal.is_party(view.order.buyer_organization_id) else None
