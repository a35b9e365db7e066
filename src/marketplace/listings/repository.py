"""The listings context's queries of products, listings and stock; the catalogue page's
search is in `search_repository`. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    and_,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from marketplace.accounts import Organization, Scope
from marketplace.listings.models import Listing, Product, StockMovement
from marketplace.unnest_insert import UnnestInsert

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
        rows = await self.session.execute(select(Product).where(Product.id.in_(set(ids))))
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
            .where(Listing.product_id == product_id, Listing.status == "active")
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
            .where(Listing.status == "active", Listing.seller_kind == "cooperative")
            .order_by(Listing.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(Listing.id > after)
        rows = await self.session.execute(stmt)
        return [(r[0], r[1], r[2], r[3]) for r in rows]


# Statements of the stock-for-orders API, built once: SQLAlchemy caches their compiled
# form by identity, and arrays (`= ANY(...)`, `unnest`) keep one SQL text (one prepared
# statement) whatever the number of products or listings.
_PRODUCT_FACTS = text(
    """
    SELECT p.id, p.category, p.vat_treatment, p.programme, p.net_content,
           p.net_content_unit, p.bulog_supplied, CAST(p.price_caps AS text)
    FROM products AS p
    WHERE p.id = ANY(CAST(:product_ids AS uuid[]))
    """
)
# The product as its (1-based) position in `:product_ids` and the owner only when it is
# not the seller: the UUIDs are the caller's own, so thousands of rows don't each bring
# (and leave for the garbage collector) two more objects.
_SOURCES = text(
    """
    SELECT l.id, array_position(CAST(:product_ids AS uuid[]), l.product_id),
           l.seller_organization_id,
           NULLIF(l.owner_organization_id, l.seller_organization_id),
           o.kind, o.vat_registered, l.region_code, l.on_hand - l.reserved,
           l.min_order_quantity, l.supply_mode, CAST(l.tiers AS text)
    FROM listings AS l
    JOIN organizations AS o ON o.id = l.owner_organization_id
    WHERE l.product_id = ANY(CAST(:product_ids AS uuid[]))
      AND l.status = 'active'
      AND (l.supply_mode <> 'stock' OR l.on_hand - l.reserved > 0)
    """
)
_LOCK = text(
    "SELECT l.id FROM listings AS l WHERE l.id = ANY(CAST(:ids AS uuid[])) ORDER BY l.id FOR UPDATE"
)
_APPLY_DELTAS = text(
    """
    UPDATE listings AS l
    SET on_hand = l.on_hand + v.d_on_hand,
        reserved = l.reserved + v.d_reserved,
        updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:on_hand AS bigint[]),
                CAST(:reserved AS bigint[])) AS v(id, d_on_hand, d_reserved)
    WHERE l.id = v.id
      AND l.on_hand + v.d_on_hand >= 0
      AND l.reserved + v.d_reserved >= 0
      AND (l.supply_mode <> 'stock'
           OR l.reserved + v.d_reserved <= l.on_hand + v.d_on_hand)
    RETURNING l.id, l.on_hand, l.reserved
    """
)
# One stock operation's movements: its kind, reference and actor are the same on all.
_INSERT_MOVEMENTS = UnnestInsert(
    StockMovement,
    shared=("kind", "reference", "actor_organization_id", "actor_api_key_id", "actor_person_id"),
    defaulted=("reason", "created_at"),
)


class StockRepository:
    """Set-based stock operations for orders: constant statements per order, any size."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def product_facts(self, product_ids: Sequence[uuid.UUID]) -> list[Any]:
        """(id, category, vat_treatment, programme, net_content, net_content_unit,
        bulog_supplied, price caps as JSON text) of these products: what placing an order
        needs, as columns."""
        if not product_ids:
            return []
        result = await self.session.execute(_PRODUCT_FACTS, {"product_ids": list(product_ids)})
        return list(result.all())

    async def sources_for_products(self, product_ids: Sequence[uuid.UUID]) -> list[Any]:
        """Active listings that could supply these products now, with the owner's kind
        and VAT registration (a consignor's decides the VAT of a consignment leg). The
        product comes as its 1-based index in `product_ids`, the owner as NULL when it
        is the seller.

        Plain columns (tiers as JSON text), not ORM objects: an order of 200 products reads
        thousands of candidates, and building objects was most of its time.
        """
        if not product_ids:
            return []
        result = await self.session.execute(_SOURCES, {"product_ids": list(product_ids)})
        return list(result.all())

    async def lock_in_id_order(self, listing_ids: Sequence[uuid.UUID]) -> None:
        """Row locks in primary-key order, so concurrent orders never deadlock."""
        await self.session.execute(_LOCK, {"ids": sorted(set(listing_ids))})

    async def apply_deltas(
        self, deltas: Sequence[tuple[uuid.UUID, int, int]]
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """Apply (listing, Δon_hand, Δreserved) to many listings in one statement.

        Each row changes only if its stock stays valid; the result maps the listings
        that changed to (on_hand, reserved) after. Lock first (`lock_in_id_order`).
        """
        if not deltas:
            return {}
        rows = await self.session.execute(
            _APPLY_DELTAS,
            {
                "ids": [d[0] for d in deltas],
                "on_hand": [d[1] for d in deltas],
                "reserved": [d[2] for d in deltas],
            },
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    async def levels(self, listing_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
        rows = await self.session.execute(
            select(Listing.id, Listing.on_hand, Listing.reserved).where(
                Listing.id.in_(set(listing_ids))
            )
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    async def insert_movements(self, **movements: Any) -> None:
        """One INSERT of many movements from arrays (`id`, `listing_id`, the deltas and
        levels after, one list each) sharing `kind`, `reference` and the actor."""
        if movements["id"]:
            params = _INSERT_MOVEMENTS.array_params(**movements)
            await self.session.execute(_INSERT_MOVEMENTS.statement, params)
