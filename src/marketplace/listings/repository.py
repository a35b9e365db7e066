"""All queries of the listings context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Select,
    Text,
    and_,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from marketplace.accounts.models import Organization
from marketplace.listings.domain import SearchFilters
from marketplace.listings.models import Listing, Product, StockMovement

# A listing, its product, its seller and the owner of the goods (a read-side join with
# the accounts tables: the feed shows the producer's tax ids).
FeedRow = tuple[Listing, Product, Organization, Organization]


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, product_id: uuid.UUID) -> Product | None:
        return await self.session.get(Product, product_id)

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
                Product.search_text.ilike(f"%{_escape_like(word)}%"),
            )
            for word in query.split()[:8]
        )
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ListingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, listing_id: uuid.UUID) -> Listing | None:
        return await self.session.get(Listing, listing_id)

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

    def search_statement(
        self, filters: SearchFilters, *, after: tuple[int, uuid.UUID] | None, limit: int
    ) -> Select[Listing, Product]:
        stmt = (
            select(Listing, Product)
            .join(Product, Product.id == Listing.product_id)
            .order_by(Listing.base_unit_price, Listing.id)
            .limit(limit)
        )
        if not (filters.include_paused and filters.seller_organization_id is not None):
            stmt = stmt.where(Listing.status == "active")
        if filters.product_id is not None:
            stmt = stmt.where(Listing.product_id == filters.product_id)
        if filters.category is not None:
            stmt = stmt.where(Listing.category == filters.category)
        if filters.query:
            stmt = stmt.where(text_match(filters.query))
        if filters.region_prefix:
            prefix = filters.region_prefix
            stmt = stmt.where(
                or_(
                    Listing.region_code == prefix,
                    Listing.region_code.startswith(prefix + ".", autoescape=True),
                )
            )
        if filters.in_stock is True:
            stmt = stmt.where(
                or_(Listing.supply_mode != "stock", Listing.on_hand - Listing.reserved > 0)
            )
        elif filters.in_stock is False:
            stmt = stmt.where(
                and_(Listing.supply_mode == "stock", Listing.on_hand - Listing.reserved <= 0)
            )
        if filters.seller_kind is not None:
            stmt = stmt.where(Listing.seller_kind == filters.seller_kind)
        if filters.max_unit_price is not None:
            stmt = stmt.where(Listing.base_unit_price <= filters.max_unit_price)
        if filters.seller_organization_id is not None:
            stmt = stmt.where(Listing.seller_organization_id == filters.seller_organization_id)
        if after is not None:
            stmt = stmt.where(
                tuple_(Listing.base_unit_price, Listing.id) > tuple_(literal(after[0]), after[1])
            )
        return stmt

    async def search(
        self, filters: SearchFilters, *, after: tuple[int, uuid.UUID] | None, limit: int
    ) -> list[tuple[Listing, Product]]:
        rows = await self.session.execute(self.search_statement(filters, after=after, limit=limit))
        return [(r[0], r[1]) for r in rows]

    async def search_rows(
        self, filters: SearchFilters, *, after: tuple[int, uuid.UUID] | None, limit: int
    ) -> list[Any]:
        """The same search as plain columns: a catalogue page needs no ORM objects, and
        building them was most of a search request's own time."""
        entities = self.search_statement(filters, after=after, limit=limit)
        stmt = entities.with_only_columns(
            *Listing.__table__.columns,
            Product.sku.label("product_sku"),
            Product.name.label("product_name"),
            Product.unit_code.label("product_unit_code"),
            Product.unit_label.label("product_unit_label"),
            Product.vat_treatment.label("product_vat_treatment"),
            Product.programme.label("product_programme"),
            maintain_column_froms=True,
        )
        return list((await self.session.execute(stmt)).all())

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


class StockRepository:
    """Set-based stock operations for orders: constant statements per order, any size."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sources_for_products(self, product_ids: Sequence[uuid.UUID]) -> list[Any]:
        """Active listings that could supply these products now, with the owner's kind.

        Plain columns (tiers as JSON text), not ORM objects: an order of 200 products reads
        thousands of candidates, and building objects was most of its time.
        """
        if not product_ids:
            return []
        owner = aliased(Organization)
        stmt = (
            select(
                Listing.id,
                Listing.product_id,
                Listing.seller_organization_id,
                Listing.owner_organization_id,
                owner.kind,
                Listing.region_code,
                Listing.on_hand - Listing.reserved,
                Listing.min_order_quantity,
                Listing.supply_mode,
                cast(Listing.tiers, Text),
            )
            .join(owner, owner.id == Listing.owner_organization_id)
            .where(
                Listing.product_id.in_(set(product_ids)),
                Listing.status == "active",
                or_(Listing.supply_mode != "stock", Listing.on_hand - Listing.reserved > 0),
            )
        )
        return list((await self.session.execute(stmt)).all())

    async def lock_in_id_order(self, listing_ids: Sequence[uuid.UUID]) -> None:
        """Row locks in primary-key order, so concurrent orders never deadlock."""
        await self.session.execute(
            select(Listing.id)
            .where(Listing.id.in_(sorted(set(listing_ids))))
            .order_by(Listing.id)
            .with_for_update()
        )

    async def apply_deltas(
        self, deltas: Sequence[tuple[uuid.UUID, int, int]]
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """Apply (listing, Δon_hand, Δreserved) to many listings in one statement.

        Each row changes only if its stock stays valid; the result maps the listings
        that changed to (on_hand, reserved) after. Lock first (`lock_in_id_order`).
        """
        if not deltas:
            return {}
        ids = [d[0] for d in deltas]
        on_hand = [d[1] for d in deltas]
        reserved = [d[2] for d in deltas]
        rows = await self.session.execute(
            text(
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
            ),
            {"ids": ids, "on_hand": on_hand, "reserved": reserved},
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    async def levels(self, listing_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
        rows = await self.session.execute(
            select(Listing.id, Listing.on_hand, Listing.reserved).where(
                Listing.id.in_(set(listing_ids))
            )
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    async def insert_movements(self, movements: Sequence[StockMovement]) -> None:
        """One bulk INSERT (no per-object unit-of-work bookkeeping)."""
        if not movements:
            return
        columns = [c.key for c in StockMovement.__table__.columns if c.key != "created_at"]
        await self.session.execute(
            insert(StockMovement), [{k: getattr(m, k) for k in columns} for m in movements]
        )
