"""The catalogue page's cached Core statements find exactly what a plain ORM query finds."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Select, and_, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.db import unit_of_work
from marketplace.listings.domain import SearchFilters
from marketplace.listings.models import Listing, Product
from marketplace.listings.repository import text_match
from marketplace.listings.search_repository import CatalogueRepository, search_page_query
from marketplace.read_pool import ReadPool
from tests.api.test_listings import seed_search
from tests.support import Actor, Actors


# The reference: the same search written plainly with the ORM, filter by filter (it was the
# API's own search before the cached Core statements replaced it).
def reference_statement(
    filters: SearchFilters, *, after: tuple[int, uuid.UUID] | None, limit: int
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


@pytest.fixture
async def admin(actors: Actors) -> Actor:
    return await actors.platform_admin()


async def test_every_filter_shape_matches_the_orm_search(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    admin: Actor,
    session_factory: async_sessionmaker[AsyncSession],
    reads: ReadPool,
) -> None:
    tag, seeded = await seed_search(client, actors, admin)
    eggs = uuid.UUID(seeded["eggs"]["id"])
    seller = uuid.UUID(seeded["eggs_magersari"]["seller_organization_id"])
    shapes: list[dict[str, Any]] = [
        {"product_id": eggs},
        {"product_id": eggs, "region_prefix": "35.76"},
        {"product_id": eggs, "region_prefix": "35.76.02", "in_stock": True},
        {"product_id": eggs, "in_stock": False},
        {"product_id": eggs, "seller_kind": "umkm"},
        {"product_id": eggs, "max_unit_price": 52_000},
        {"query": f"telor ayam {tag}"},
        {"query": f"minyak {tag}", "category": "oil"},
        # Words go product by product (each product's first `limit` listings, then the
        # cheapest `limit` of those): every other filter and the cursor inside.
        {"query": tag},
        {"query": tag, "region_prefix": "35.76"},
        {"query": tag, "in_stock": True},
        {"query": tag, "in_stock": False},
        {"query": tag, "seller_kind": "umkm", "max_unit_price": 52_000},
        {"seller_organization_id": seller},
        {"seller_organization_id": seller, "include_paused": True},
        {"query": "50%_off/x"},  # LIKE wildcards and the escape character are literal
        {"region_prefix": "35.7_"},
    ]
    repo = CatalogueRepository(reads)
    async with unit_of_work(session_factory) as uow:
        for fields in shapes:
            filters = SearchFilters(**fields)
            for after, limit in itertools.product((None, (52_000, uuid.UUID(int=0))), (1, 2, 200)):
                orm = (
                    await uow.session.execute(
                        reference_statement(filters, after=after, limit=limit)
                    )
                ).all()
                rows = await repo.search_rows(filters, after=after, limit=limit)
                ids = [listing.id for listing, _ in orm]
                assert [r[0] for r in rows] == ids, (fields, after, limit)
                prices = [listing.base_unit_price for listing, _ in orm]
                assert [r[8] for r in rows] == prices
    # One statement per shape, whatever the values.
    first, _ = search_page_query(SearchFilters(product_id=eggs), after=None, limit=51)
    again, params = search_page_query(SearchFilters(product_id=uuid.uuid4()), after=None, limit=3)
    assert first is again
    assert params["limit"] == 3
