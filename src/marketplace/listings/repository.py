"""All queries of the listings context."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from marketplace.accounts import Organization
from marketplace.listings.domain import SearchFilters
from marketplace.listings.models import Listing, Product, StockMovement
from marketplace.read_pool import ReadPool
from marketplace.unnest_insert import UnnestInsert

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


# --- the catalogue page read: Core statements cached per filter shape -------------

_listings = Listing.__table__
_products = Product.__table__

# Column order of a `SearchRow`.
SEARCH_COLUMNS = (
    _listings.c.id,
    _listings.c.product_id,
    _listings.c.seller_organization_id,
    _listings.c.owner_organization_id,
    _listings.c.seller_kind,
    _listings.c.category,
    _listings.c.region_code,
    cast(_listings.c.tiers, Text).label("tiers_json"),
    _listings.c.base_unit_price,
    _listings.c.min_order_quantity,
    _listings.c.on_hand,
    _listings.c.reserved,
    _listings.c.supply_mode,
    _listings.c.status,
    _listings.c.created_at,
    _listings.c.updated_at,
    _products.c.sku,
    _products.c.name,
    _products.c.unit_code,
    _products.c.unit_label,
    _products.c.vat_treatment,
    _products.c.programme,
)
SearchRow = Sequence[Any]


class _SearchShape(NamedTuple):
    """Which filters a search uses: one cached statement per shape, values bound."""

    active_only: bool
    product_id: bool
    category: bool
    words: int
    region: bool
    in_stock: bool | None
    seller_kind: bool
    max_unit_price: bool
    seller: bool
    after: bool


def search_page_query(
    filters: SearchFilters, *, after: tuple[int, uuid.UUID] | None, limit: int
) -> tuple[Select[Any], dict[str, Any]]:
    """The catalogue page statement for these filters (one per filter shape) and its values."""
    words = filters.query.split()[:8] if filters.query else []
    shape = _SearchShape(
        active_only=not (filters.include_paused and filters.seller_organization_id is not None),
        product_id=filters.product_id is not None,
        category=filters.category is not None,
        words=len(words),
        region=bool(filters.region_prefix),
        in_stock=filters.in_stock,
        seller_kind=filters.seller_kind is not None,
        max_unit_price=filters.max_unit_price is not None,
        seller=filters.seller_organization_id is not None,
        after=after is not None,
    )
    params: dict[str, Any] = {"limit": limit}
    if shape.active_only:
        params["status"] = "active"
    if shape.product_id:
        params["product_id"] = filters.product_id
    if shape.category:
        params["category"] = filters.category
    for i, word in enumerate(words):
        params[f"word_{i}"] = word
        params[f"word_like_{i}"] = f"%{_escape_like(word)}%"
    if filters.region_prefix:
        params["region"] = filters.region_prefix
        params["region_below"] = _escape_like_slash(filters.region_prefix + ".")
    if shape.in_stock is not None:
        params["stock_mode"] = "stock"
        params["zero"] = 0
    if shape.seller_kind:
        params["seller_kind"] = filters.seller_kind
    if shape.max_unit_price:
        params["max_unit_price"] = filters.max_unit_price
    if shape.seller:
        params["seller_id"] = filters.seller_organization_id
    if after is not None:
        params["after_price"], params["after_id"] = after
    return _search_page_statement(shape), params


@functools.lru_cache(maxsize=512)
def _search_page_statement(shape: _SearchShape) -> Select[Any]:
    listings, products = _listings.c, _products.c
    stmt = (
        select(*SEARCH_COLUMNS)
        .select_from(_listings.join(_products, products.id == listings.product_id))
        .order_by(listings.base_unit_price, listings.id)
        .limit(bindparam("limit", type_=Integer))
    )
    if shape.active_only:
        stmt = stmt.where(listings.status == bindparam("status", type_=String))
    if shape.product_id:
        stmt = stmt.where(listings.product_id == bindparam("product_id", type_=PG_UUID()))
    if shape.category:
        stmt = stmt.where(listings.category == bindparam("category", type_=String))
    for i in range(shape.words):
        stmt = stmt.where(
            or_(
                products.search_text.op("%>")(bindparam(f"word_{i}", type_=String)),
                products.search_text.ilike(bindparam(f"word_like_{i}", type_=String)),
            )
        )
    if shape.region:
        stmt = stmt.where(
            or_(
                listings.region_code == bindparam("region", type_=String),
                listings.region_code.startswith(
                    bindparam("region_below", type_=String), escape="/"
                ),
            )
        )
    stock = bindparam("stock_mode", type_=String)
    available = listings.on_hand - listings.reserved
    if shape.in_stock is True:
        stmt = stmt.where(
            or_(listings.supply_mode != stock, available > bindparam("zero", type_=BigInteger))
        )
    elif shape.in_stock is False:
        stmt = stmt.where(
            and_(listings.supply_mode == stock, available <= bindparam("zero", type_=BigInteger))
        )
    if shape.seller_kind:
        stmt = stmt.where(listings.seller_kind == bindparam("seller_kind", type_=String))
    if shape.max_unit_price:
        stmt = stmt.where(listings.base_unit_price <= bindparam("max_unit_price", type_=BigInteger))
    if shape.seller:
        stmt = stmt.where(
            listings.seller_organization_id == bindparam("seller_id", type_=PG_UUID())
        )
    if shape.after:
        stmt = stmt.where(
            tuple_(listings.base_unit_price, listings.id)
            > tuple_(
                bindparam("after_price", type_=BigInteger),
                bindparam("after_id", type_=PG_UUID()),
            )
        )
    return stmt


# The driver's own SQL: `$n` parameters, compiled once per filter shape.
_DRIVER_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=512)
def _driver_sql(stmt: Select[Any]) -> tuple[str, tuple[str, ...]]:
    """The SQL text and positional parameter names the driver gets for a cached search
    statement. Its values go to asyncpg as they are, so no parameter may need a
    SQLAlchemy conversion on the way (the bound types are chosen so that none does)."""
    compiled = stmt.compile(dialect=_DRIVER_DIALECT)
    if compiled._bind_processors or compiled.positiontup is None:
        raise TypeError("a search parameter needs SQLAlchemy's own conversion")
    return str(compiled), tuple(compiled.positiontup)


class CatalogueRepository:
    """The catalogue page, read through the read pool (no session, no ORM)."""

    def __init__(self, reads: ReadPool) -> None:
        self.reads = reads

    async def search_rows(
        self, filters: SearchFilters, *, after: tuple[int, uuid.UUID] | None, limit: int
    ) -> list[SearchRow]:
        """One page as plain columns (`SEARCH_COLUMNS` order, tiers as JSON text)."""
        sql, args = search_page_sql(filters, after=after, limit=limit)
        return await self.reads.fetch(sql, args)


def search_page_sql(
    filters: SearchFilters, *, after: tuple[int, uuid.UUID] | None, limit: int
) -> tuple[str, tuple[Any, ...]]:
    """What the driver receives for a catalogue page: SQL text and positional values."""
    stmt, params = search_page_query(filters, after=after, limit=limit)
    sql, names = _driver_sql(stmt)
    return sql, tuple(params[name] for name in names)


def _escape_like_slash(value: str) -> str:
    """`startswith(..., autoescape=True)`'s escaping, for a bound value (escape `/`)."""
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


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
    shared=("kind", "reference", "actor_organization_id", "actor_api_key_id"),
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
