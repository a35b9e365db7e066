"""The catalogue page's read: Core statements cached per filter shape, run on the
read-only pool (no session, no ORM objects). Never commits."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    cast,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from marketplace.listings.domain import SearchFilters
from marketplace.listings.models import Listing, Product
from marketplace.listings.repository import escape_like
from marketplace.listings.schemas import ProductOut
from marketplace.read_pool import ReadPool

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
_LISTING_COLUMNS = SEARCH_COLUMNS[:16]
_PRODUCT_COLUMNS = (_products.c.id, *SEARCH_COLUMNS[16:])


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
    if shape.product_id:
        params["product_id"] = filters.product_id
    if shape.category:
        params["category"] = filters.category
    for i, word in enumerate(words):
        params[f"word_{i}"] = word
        params[f"word_like_{i}"] = f"%{escape_like(word)}%"
    if filters.region_prefix:
        params["region"] = filters.region_prefix
        params["region_end"] = filters.region_prefix + "/"
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
    """Without words: one walk of the active listings in (price, id) order, on the index
    that matches the filters. With words, the matching products first (a small table) and,
    for each, its first `limit` listings on `ix_listings_active_product_price`; the page is
    the cheapest `limit` of those. A walk of all listings in price order filtered by the
    words reads rows until it has a page: at a million listings a rare word read half the
    table (the `ORDER BY … LIMIT` trap). Per product, the work no longer grows with it."""
    if shape.words:
        return _per_product_statement(shape)
    listings, products = _listings.c, _products.c
    stmt = (
        select(*SEARCH_COLUMNS)
        .select_from(_listings.join(_products, products.id == listings.product_id))
        .order_by(listings.base_unit_price, listings.id)
        .limit(bindparam("limit", type_=Integer))
    )
    return _narrowed(stmt, shape)


def _word_conditions(shape: _SearchShape) -> list[Any]:
    products = _products.c
    return [
        or_(
            products.search_text.op("%>")(bindparam(f"word_{i}", type_=String)),
            products.search_text.ilike(bindparam(f"word_like_{i}", type_=String)),
        )
        for i in range(shape.words)
    ]


def _per_product_statement(shape: _SearchShape) -> Select[Any]:
    listings = _listings.c
    matched = select(*_PRODUCT_COLUMNS).where(*_word_conditions(shape)).subquery("matched")
    first_of_each = _narrowed(
        select(*_LISTING_COLUMNS)
        .where(listings.product_id == matched.c.id)
        .order_by(listings.base_unit_price, listings.id)
        .limit(bindparam("limit", type_=Integer)),
        shape,
    ).lateral("offer")
    return (
        select(
            *(first_of_each.c[c.name] for c in _LISTING_COLUMNS),
            *(matched.c[c.name] for c in _PRODUCT_COLUMNS if c.name != "id"),
        )
        .select_from(matched.join(first_of_each, true()))
        .order_by(first_of_each.c.base_unit_price, first_of_each.c.id)
        .limit(bindparam("limit", type_=Integer))
    )


def _narrowed(stmt: Select[Any], shape: _SearchShape) -> Select[Any]:
    """Every filter but the words, on the listings."""
    listings = _listings.c
    if shape.active_only:
        # A literal, not a parameter: a prepared statement's generic plan (PostgreSQL's
        # choice after five runs) can use the partial indexes on active listings only if
        # it sees `status = 'active'` itself; with `status = $1` it read every listing.
        stmt = stmt.where(listings.status == literal_column("'active'"))
    if shape.product_id:
        stmt = stmt.where(listings.product_id == bindparam("product_id", type_=PG_UUID()))
    if shape.category:
        stmt = stmt.where(listings.category == bindparam("category", type_=String))
    if shape.region:
        # The region and everything below it, as one byte-wise range (`text_pattern_ops`):
        # [`35.76`, `35.76/`) holds `35.76` and `35.76.…` and nothing else, since codes are
        # digits and dots and `.` is the only one below `/`. A range on bound values stays
        # an index range in a prepared statement's generic plan, where `LIKE $1 || '%'`
        # became a filter over every listing of the product.
        stmt = stmt.where(
            listings.region_code.op("~>=~")(bindparam("region", type_=String)),
            listings.region_code.op("~<~")(bindparam("region_end", type_=String)),
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


# One listing as a `SearchRow`, then its terms' version (the ETag): `GET /v1/listings/{id}`.
ONE_LISTING_SQL, _ = _driver_sql(
    select(*SEARCH_COLUMNS, _listings.c.version)
    .select_from(_listings.join(_products, _products.c.id == _listings.c.product_id))
    .where(_listings.c.id == bindparam("listing_id", type_=PG_UUID()))
)


# One product by id, `PRODUCT_COLUMNS` then its version: `GET /v1/products/{id}`.
# The answer's fields (the table's column names) but its price caps, read as JSON text.
PRODUCT_COLUMNS = tuple(
    f.name for f in msgspec.structs.fields(ProductOut) if f.name != "price_caps"
)
ONE_PRODUCT_SQL, _ = _driver_sql(
    select(
        *(_products.c[name] for name in PRODUCT_COLUMNS),
        cast(_products.c.price_caps, Text).label("price_caps_json"),
        _products.c.version,
    ).where(_products.c.id == bindparam("product_id", type_=PG_UUID()))
)


class CatalogueRepository:
    """The catalogue page, read through the read pool (no session, no ORM)."""

    def __init__(self, reads: ReadPool) -> None:
        self.reads = reads

    async def one_product(self, product_id: uuid.UUID) -> SearchRow | None:
        """One product: `PRODUCT_COLUMNS`, its price caps as JSON text, its version."""
        rows = await self.reads.fetch(ONE_PRODUCT_SQL, (product_id,))
        return rows[0] if rows else None

    async def one_listing(self, listing_id: uuid.UUID) -> SearchRow | None:
        """One listing in `SEARCH_COLUMNS` order followed by its `version`, or None."""
        rows = await self.reads.fetch(ONE_LISTING_SQL, (listing_id,))
        return rows[0] if rows else None

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
