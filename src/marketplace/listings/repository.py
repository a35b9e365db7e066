"""The listings context's queries of products, listings and stock; the catalogue page's
search is in `search_repository`. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from marketplace.accounts import Organization, Scope
from marketplace.listings.models import Listing, Product, StockMovement

# A listing, its product, its seller and the owner of the goods (a read-side join with
# the accounts tables: the feed shows the producer's tax ids).
FeedRow = tuple[Listing, Product, Organization, Organization]


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, product_id: uuid.UUID) -> Product | None:
        return await self.session.get(Product, product_id)

    async def get_locked(self, product_id: uuid.UUID) -> Product | None:
        """The product, its row locked until the transaction ends (to change it)."""
        return await self.session.get(
            Product, product_id, with_for_update=True, populate_existing=True
        )

    async def get_many(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Product]:
        if not ids:
            return {}
        # One array parameter, not an IN list: one SQL text (one prepared statement)
        # whatever the number of ids, and nothing rendered per call.
        wanted = cast(sorted(set(ids)), ARRAY(PG_UUID))
        rows = await self.session.execute(select(Product).where(Product.id == func.any(wanted)))
        return {p.id: p for p in rows.scalars()}

    async def get_by_sku(self, sku: str) -> Product | None:
        return (
            await self.session.execute(select(Product).where(Product.sku == sku))
        ).scalar_one_or_none()

    async def list_page(
        self,
        *,
        query: str | None,
        category: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Product]:
        stmt = select(Product).order_by(Product.id).limit(limit)
        if query:
            stmt = stmt.where(text_match(query))
        if category:
            stmt = stmt.where(Product.category == category)
        if after is not None:
            stmt = stmt.where(Product.id > after)
        return list((await self.session.execute(stmt)).scalars())

    def add(self, product: Product) -> None:
        self.session.add(product)

    async def flush(self) -> None:
        await self.session.flush()


def text_match(query: str) -> Any:
    """Every typed word must match a word of the product (trigram similarity, so `telor`
    finds `telur` and `minyk` finds `minyak`) or appear in it as a substring."""
    return and_(
        *(
            or_(
                Product.search_text.op("%>")(word),
                Product.search_text.ilike(f"%{escape_like(word)}%"),
            )
            for word in query.split()[:8]
        )
    )


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# An active listing, with `'active'` a literal, not a parameter: a prepared statement's
# generic plan (PostgreSQL's choice after five runs) can use the partial indexes on
# active listings (`WHERE status = 'active'`) only if it sees the value itself; with
# `status = $n` no partial index matches. Catalogue search writes it the same way.
_ACTIVE = Listing.status == literal_column("'active'")


class ListingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, listing_id: uuid.UUID) -> Listing | None:
        return await self.session.get(Listing, listing_id)

    async def get_locked(self, listing_id: uuid.UUID) -> Listing | None:
        """The listing, its row locked until the transaction ends (to change its terms)."""
        return await self.session.get(
            Listing, listing_id, with_for_update=True, populate_existing=True
        )

    async def get_with_product(self, listing_id: uuid.UUID) -> tuple[Listing, Product] | None:
        row = (
            await self.session.execute(
                select(Listing, Product)
                .join(Product, Product.id == Listing.product_id)
                .where(Listing.id == listing_id)
            )
        ).one_or_none()
        return (row[0], row[1]) if row else None

    async def find_existing(
        self,
        seller_id: uuid.UUID,
        product_id: uuid.UUID,
        owner_id: uuid.UUID,
        supply_mode: str,
    ) -> Listing | None:
        return (
            await self.session.execute(
                select(Listing).where(
                    Listing.seller_organization_id == seller_id,
                    Listing.product_id == product_id,
                    Listing.owner_organization_id == owner_id,
                    Listing.supply_mode == supply_mode,
                )
            )
        ).scalar_one_or_none()

    async def sellers_page(
        self, *, scope: Scope, after: uuid.UUID | None, limit: int
    ) -> list[tuple[Listing, Product]]:
        """The listings the scope's organization sells (its own goods and those it holds
        on consignment), with their products, in id order."""
        stmt = (
            select(Listing, Product)
            .join(Product, Product.id == Listing.product_id)
            .order_by(Listing.id)
            .limit(limit)
        )
        stmt = scope.narrow(stmt, lambda org: Listing.seller_organization_id == org)
        if after is not None:
            stmt = stmt.where(Listing.id > after)
        return [(row[0], row[1]) for row in await self.session.execute(stmt)]

    def add(self, listing: Listing) -> None:
        self.session.add(listing)

    async def flush(self) -> None:
        await self.session.flush()

    async def refresh(self, listing: Listing) -> None:
        await self.session.refresh(listing)

    async def move_stock(
        self, listing_id: uuid.UUID, on_hand_delta: int, reserved_delta: int
    ) -> tuple[int, int] | None:
        """One conditional statement: applies the change only if stock stays valid.

        Returns (on_hand, reserved) after the change, or None if it was refused (or the
        listing does not exist). Concurrent movements serialise on the row lock, so none
        is lost.
        """
        new_on_hand = Listing.on_hand + on_hand_delta
        new_reserved = Listing.reserved + reserved_delta
        row = (
            await self.session.execute(
                update(Listing)
                .where(
                    Listing.id == listing_id,
                    new_on_hand >= 0,
                    new_reserved >= 0,
                    or_(Listing.supply_mode != "stock", new_reserved <= new_on_hand),
                )
                .values(on_hand=new_on_hand, reserved=new_reserved, updated_at=func.now())
                .returning(Listing.on_hand, Listing.reserved)
                .execution_options(synchronize_session=False)
            )
        ).one_or_none()
        return (row[0], row[1]) if row else None

    async def stock_level(self, listing_id: uuid.UUID) -> tuple[int, int] | None:
        row = (
            await self.session.execute(
                select(Listing.on_hand, Listing.reserved).where(Listing.id == listing_id)
            )
        ).one_or_none()
        return (row[0], row[1]) if row else None

    def add_movement(self, movement: StockMovement) -> None:
        self.session.add(movement)

    async def movements_page(
        self, listing_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[StockMovement]:
        stmt = (
            select(StockMovement)
            .where(StockMovement.listing_id == listing_id)
            .order_by(StockMovement.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(StockMovement.id > after)
        return list((await self.session.execute(stmt)).scalars())

    async def active_of_product(self, product_id: uuid.UUID) -> list[Listing]:
        """Every active listing of a product, locked (their status may change)."""
        stmt = (
            select(Listing)
            .where(Listing.product_id == product_id, _ACTIVE)
            .order_by(Listing.id)
            .with_for_update()
        )
        return list((await self.session.execute(stmt)).scalars())

    async def own_stock_listing(
        self, product_id: uuid.UUID, organization_id: uuid.UUID
    ) -> Listing | None:
        """The organization's own `stock` listing of a product (paused ones included), the
        cheapest first if it has several."""
        stmt = (
            select(Listing)
            .where(
                Listing.product_id == product_id,
                Listing.seller_organization_id == organization_id,
                Listing.owner_organization_id == organization_id,
                Listing.supply_mode == "stock",
            )
            .order_by(Listing.base_unit_price, Listing.id)
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def catalog_feed(self, *, after: uuid.UUID | None, limit: int) -> list[FeedRow]:
        """Active listings sold by cooperatives (their own or their consignors' goods)."""
        seller = aliased(Organization)
        owner = aliased(Organization)
        stmt = (
            select(Listing, Product, seller, owner)
            .join(Product, Product.id == Listing.product_id)
            .join(seller, seller.id == Listing.seller_organization_id)
            .join(owner, owner.id == Listing.owner_organization_id)
            .where(_ACTIVE, Listing.seller_kind == "cooperative")
            .order_by(Listing.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(Listing.id > after)
        rows = await self.session.execute(stmt)
        return [(r[0], r[1], r[2], r[3]) for r in rows]
