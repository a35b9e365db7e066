"""Stock for orders: candidate sources, and bulk reserve / release / ship.

The public API the orders context uses. Every operation takes row locks in id order and
changes all listings in one statement, so the number of statements per order does not
grow with its lines and concurrent orders never deadlock (DESIGN §3 "Orders").
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from marketplace.accounts import Principal
from marketplace.db import UnitOfWork
from marketplace.errors import Conflict
from marketplace.ids import new_ids
from marketplace.listings import domain
from marketplace.listings.domain import MovementKind, PriceCap
from marketplace.listings.domain.pricing import PriceTier
from marketplace.listings.stock_repository import StockRepository

_TIERS = msgspec.json.Decoder(tuple[PriceTier, ...])
_CAPS = msgspec.json.Decoder(tuple[PriceCap, ...])


@functools.lru_cache(maxsize=8192)
def decoded_tiers(text: str) -> tuple[PriceTier, ...]:
    """Decoded price tiers by their JSON text. The same listings are candidates of order
    after order: decoding their tiers once keeps thousands of objects per order from
    being made (and collected). Tiers are immutable, so sharing them is safe."""
    return _TIERS.decode(text)


@functools.lru_cache(maxsize=1024)
def _caps(text: str) -> tuple[PriceCap, ...]:
    """Decoded zone price caps by their JSON text (a product's, read with every order)."""
    return _CAPS.decode(text)


# By value, without an enum call per candidate row.
_SUPPLY_MODES = {mode.value: mode for mode in domain.SupplyMode}


class StockChanged(Conflict):
    """Stock moved between reading the sources and reserving; the caller retries."""

    code = "listings.stock_changed"


class ProductFacts(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What placing an order needs to know of a catalogue product."""

    id: uuid.UUID
    category: str
    vat_treatment: str
    programme: str | None
    net_content: int
    net_content_unit: str
    bulog_supplied: bool
    price_caps: tuple[PriceCap, ...]
    """The zone caps (HET) as they are now: what every sale of the product must keep to."""


class SourceListing(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    listing_id: uuid.UUID
    product_id: uuid.UUID
    seller_organization_id: uuid.UUID
    owner_organization_id: uuid.UUID
    owner_kind: str
    owner_vat_registered: bool = False
    """Whether the owner of the goods (the consignor, for consignment stock) is
    VAT-registered; `StockService.sources` always reads it."""
    region_code: str
    available: int
    min_order_quantity: int
    tiers: tuple[PriceTier, ...]
    supply_mode: domain.SupplyMode


class StockService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.stock = StockRepository(uow.session)

    async def product_facts(
        self, product_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, ProductFacts]:
        """The catalogue facts of these products (unknown ids are left out), one query."""
        rows = await self.stock.product_facts(product_ids)
        return {
            pid: ProductFacts(
                id=pid,
                category=category,
                vat_treatment=vat_treatment,
                programme=programme,
                net_content=net_content,
                net_content_unit=net_content_unit,
                bulog_supplied=bulog_supplied,
                price_caps=_caps(price_caps),
            )
            for (pid, category, vat_treatment, programme, net_content, net_content_unit,
                 bulog_supplied, price_caps) in rows
        }  # fmt: skip

    async def sources(self, product_ids: Sequence[uuid.UUID]) -> list[SourceListing]:
        products = list(product_ids)
        rows = await self.stock.sources_for_products(products)
        return [
            SourceListing(
                listing_id=listing_id,
                product_id=products[product_no - 1],
                seller_organization_id=seller_id,
                owner_organization_id=owner_id or seller_id,
                owner_kind=owner_kind,
                owner_vat_registered=owner_vat_registered,
                region_code=region_code,
                available=max(0, available),
                min_order_quantity=moq,
                tiers=decoded_tiers(tiers),
                supply_mode=_SUPPLY_MODES[supply_mode],
            )
            for (listing_id, product_no, seller_id, owner_id, owner_kind, owner_vat_registered,
                 region_code, available, moq, supply_mode, tiers) in rows
        ]  # fmt: skip

    async def candidates(
        self,
        product_ids: Sequence[uuid.UUID],
        quantities: Sequence[int],
        *,
        buyer_id: uuid.UUID,
        within: Sequence[str],
        pinned: Sequence[uuid.UUID],
        per_product: int | None,
    ) -> Sequence[Any]:
        """The best `per_product` candidate listings of each product for this buyer (all
        with None), ranked as the split engine prefers them, and the listings lines are
        pinned to: one statement, records read positionally — listing id, product (its
        1-based position in `product_ids`), seller, owner (None when the seller), owner's
        kind, owner VAT-registered, region code, available, minimum order, supply mode,
        tiers (JSON text), then the rank: is a Bulog lot, remoteness (0-4, segments not
        shared with the delivery region), not local, the unit price at the product's
        quantity in `quantities` (what the order asks of it in all); and whether it came
        only as a pin. `within`: the delivery region's first 1-4 segments, each with a
        trailing dot (see `stock_repository._CANDIDATES`)."""
        return await self.stock.candidates(
            await self.uow.driver(),
            product_ids,
            quantities,
            buyer_id=buyer_id,
            within=within,
            pinned=pinned,
            per_product=per_product,
        )

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
        # One INSERT from arrays, not ORM objects: nothing for the session to track.
        await self.stock.insert_movements(
            kind=kind.value,
            reference=reference,
            actor_organization_id=principal.organization_id if principal else None,
            actor_api_key_id=principal.api_key_id if principal else None,
            actor_person_id=principal.person_id if principal else None,
            id=new_ids(len(deltas)),
            listing_id=[lid for lid, _, _ in deltas],
            on_hand_delta=[d_on_hand for _, d_on_hand, _ in deltas],
            reserved_delta=[d_reserved for _, _, d_reserved in deltas],
            on_hand_after=[after[lid][0] for lid, _, _ in deltas],
            reserved_after=[after[lid][1] for lid, _, _ in deltas],
        )
