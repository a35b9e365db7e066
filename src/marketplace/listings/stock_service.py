"""Stock for orders: candidate sources, and bulk reserve / release / ship.

The public API the orders context uses. Every operation takes row locks in id order and
changes all listings in one statement, so the number of statements per order does not
grow with its lines and concurrent orders never deadlock (DESIGN §3 "Orders").
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

import msgspec

from marketplace.accounts import Principal
from marketplace.db import UnitOfWork
from marketplace.errors import Conflict
from marketplace.ids import new_id
from marketplace.listings import domain
from marketplace.listings.domain import MovementKind
from marketplace.listings.models import StockMovement
from marketplace.listings.pricing import PriceTier
from marketplace.listings.repository import StockRepository

_TIERS = msgspec.json.Decoder(tuple[PriceTier, ...])


class StockChanged(Conflict):
    """Stock moved between reading the sources and reserving; the caller retries."""

    code = "listings.stock_changed"


class SourceListing(msgspec.Struct, frozen=True, kw_only=True):
    listing_id: uuid.UUID
    product_id: uuid.UUID
    seller_organization_id: uuid.UUID
    owner_organization_id: uuid.UUID
    owner_kind: str
    region_code: str
    available: int
    min_order_quantity: int
    tiers: tuple[PriceTier, ...]
    supply_mode: domain.SupplyMode


class StockService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.stock = StockRepository(uow.session)

    async def sources(self, product_ids: Sequence[uuid.UUID]) -> list[SourceListing]:
        rows = await self.stock.sources_for_products(product_ids)
        return [
            SourceListing(
                listing_id=listing_id,
                product_id=product_id,
                seller_organization_id=seller_id,
                owner_organization_id=owner_id,
                owner_kind=owner_kind,
                region_code=region_code,
                available=max(0, available),
                min_order_quantity=moq,
                tiers=_TIERS.decode(tiers),
                supply_mode=domain.SupplyMode(supply_mode),
            )
            for (listing_id, product_id, seller_id, owner_id, owner_kind, region_code,
                 available, moq, supply_mode, tiers) in rows
        ]  # fmt: skip

    async def reserve(
        self,
        quantities: Iterable[tuple[uuid.UUID, int]],
        *,
        reference: str,
        principal: Principal | None,
    ) -> None:
        await self._move(MovementKind.RESERVE, quantities, reference, principal)

    async def release(
        self,
        quantities: Iterable[tuple[uuid.UUID, int]],
        *,
        reference: str,
        principal: Principal | None,
    ) -> None:
        await self._move(MovementKind.RELEASE, quantities, reference, principal)

    async def ship(
        self,
        quantities: Iterable[tuple[uuid.UUID, int]],
        *,
        reference: str,
        principal: Principal | None,
    ) -> None:
        await self._move(MovementKind.SHIP, quantities, reference, principal)

    async def _move(
        self,
        kind: MovementKind,
        quantities: Iterable[tuple[uuid.UUID, int]],
        reference: str,
        principal: Principal | None,
    ) -> None:
        per_listing: dict[uuid.UUID, int] = defaultdict(int)
        for listing_id, quantity in quantities:
            per_listing[listing_id] += quantity
        if not per_listing:
            return
        ordered = sorted(per_listing.items())
        deltas = [(lid, *domain.movement_deltas(kind, q)) for lid, q in ordered]
        await self.stock.lock_in_id_order([lid for lid, _ in ordered])
        after = await self.stock.apply_deltas(deltas)
        if len(after) != len(deltas):
            refused = [lid for lid, _ in ordered if lid not in after]
            raise StockChanged(
                f"Stock changed on {len(refused)} listing(s); the {kind.value} was refused.",
                listing_ids=refused,
            )
        await self.stock.insert_movements(
            [
                StockMovement(
                    id=new_id(),
                    listing_id=lid,
                    kind=kind.value,
                    on_hand_delta=d_on_hand,
                    reserved_delta=d_reserved,
                    on_hand_after=after[lid][0],
                    reserved_after=after[lid][1],
                    reason=None,
                    reference=reference,
                    actor_organization_id=principal.organization_id if principal else None,
                    actor_api_key_id=principal.api_key_id if principal else None,
                )
                for lid, d_on_hand, d_reserved in deltas
            ]
        )
