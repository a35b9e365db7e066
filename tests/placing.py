"""Orders placed truly at once: each in its own unit of work and connection.

The Litestar test client runs one request at a time (its async transport calls the app
through a blocking portal), so races between orders are run here, through the same
`OrderPlacement` the API calls, as many coroutines on one event loop: each waits on its
own database connection, so their statements interleave as separate clients' would.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Principal, Role
from marketplace.db import unit_of_work
from marketplace.errors import DomainError
from marketplace.orders.domain.placed import PlacedOrder
from marketplace.orders.placement import OrderPlacement
from marketplace.orders.schemas import OrderCreate
from tests.support import Actor


def buyer_principal(buyer: Actor) -> Principal:
    return Principal(
        api_key_id=uuid.uuid4(),
        organization_id=buyer.organization_id,
        organization_kind=buyer.kind,
        role=Role.BUYER,
    )


async def place_at_once(
    factory: async_sessionmaker[AsyncSession], orders: list[tuple[Actor, dict[str, Any]]]
) -> list[PlacedOrder | DomainError]:
    """Place every (buyer, body) concurrently; each result is the placed order or the
    refusal (the problem the API would answer)."""

    async def place(buyer: Actor, body: dict[str, Any]) -> PlacedOrder | DomainError:
        data = msgspec.convert(body, OrderCreate)
        async with unit_of_work(factory) as uow:
            try:
                placed = await OrderPlacement(uow).place(buyer_principal(buyer), data)
            except DomainError as refused:
                return refused
            await uow.commit()
            return placed

    return await asyncio.gather(*(place(buyer, body) for buyer, body in orders))
