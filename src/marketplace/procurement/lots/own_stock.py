"""Where a Bulog lot's units go when no leg waits for them: the cooperative's own stock.

The rounding surplus of a lot, what a receipt brings beyond the demand, and the units a
received lot had released to an order that was then cancelled all become the cooperative's
own stock on its `stock` listing of the product (opened at the Bulog listing's prices if it
has none), so the next order is filled from the warehouse instead of pooling a new lot.
Every move is in the stock movement log under the lot's reference.
"""

from __future__ import annotations

import uuid

import msgspec

from marketplace.accounts import Principal
from marketplace.db import UnitOfWork
from marketplace.listings import ListingService, ProductService
from marketplace.listings.domain import ListingStatus, MovementKind, PriceTier, SupplyMode
from marketplace.procurement.lots.models import BulogLot


class OwnStock:
    """The cooperative's own `stock` listing of a lot's product: where a lot's units go when
    no leg waits for them (the rounding surplus, the units of a cancelled order)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.listings = ListingService(uow)
        self.products = ProductService(uow)

    async def receive(
        self,
        lot: BulogLot,
        quantity: int,
        principal: Principal | None,
        reason: str,
        reference: str,
    ) -> uuid.UUID:
        """Add `quantity` to the own listing, opening it at the Bulog listing's prices if the
        cooperative has none (whoever's action this is: a kitchen's cancel may cause it)."""
        cooperative = lot.cooperative_organization_id
        own = await self.listings.own_stock_listing(lot.product_id, cooperative)
        if own is not None:
            await self.listings.move(
                own, MovementKind.RECEIVE, quantity, principal, reason, reference
            )
            return own.id
        bulog_listing = await self.listings.get_unchecked(lot.listing_id)
        product = await self.products.products.get(lot.product_id)
        assert bulog_listing is not None
        assert product is not None
        created, _ = await self.listings.open_listing(
            seller_id=cooperative,
            seller_kind=bulog_listing.seller_kind,
            owner_id=cooperative,
            region_code=bulog_listing.region_code,
            product=product,
            tiers=tuple(msgspec.convert(t, PriceTier) for t in bulog_listing.tiers),
            min_order_quantity=bulog_listing.min_order_quantity,
            supply_mode=SupplyMode.STOCK,
            status=ListingStatus.ACTIVE,
            opening_stock=quantity,
            principal=principal,
        )
        return created.id

    async def take_from_bulog_listing(
        self, lot: BulogLot, quantity: int, principal: Principal | None, reference: str
    ) -> uuid.UUID:
        """Move `quantity` unreserved units off the lot's Bulog listing into own stock."""
        bulog_listing = await self.listings.get_unchecked(lot.listing_id)
        assert bulog_listing is not None
        await self.listings.move(
            bulog_listing,
            MovementKind.ADJUST,
            -quantity,
            principal,
            "No leg waits for these units any more: moved to the cooperative's own stock",
            reference,
        )
        return await self.receive(
            lot,
            quantity,
            principal,
            "From the Bulog listing: an order in the lot was cancelled",
            reference,
        )
