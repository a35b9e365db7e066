"""The stock-for-orders queries: product facts, candidate sources, and the bulk stock
operations of placing, releasing and shipping (constant statements per order, any size).

Placement's statements go to the driver (`marketplace.driver`): compiled once, sent by
asyncpg on the unit of work's connection, read back as records and converted
positionally by the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.driver import Driver, DriverStatement, session_driver
from marketplace.listings.models import Listing, StockMovement
from marketplace.unnest_insert import UnnestInsert

# Statements of the stock-for-orders API, built once: SQLAlchemy caches their compiled
# form by identity, and arrays (`= ANY(...)`, `unnest`) keep one SQL text (one prepared
# statement) whatever the number of products or listings.
_PRODUCT_FACTS = DriverStatement(
    text(
        """
    SELECT p.id, p.category, p.vat_treatment, p.programme, p.net_content,
           p.net_content_unit, p.bulog_supplied, CAST(p.price_caps AS text)
    FROM products AS p
    WHERE p.id = ANY(CAST(:product_ids AS uuid[]))
    """
    )
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
# The few best candidates per product for a buyer, ranked as the split engine prefers
# them (`orders.domain.splitting`): listings before Bulog lots, then nearer the delivery
# region (segments shared with it: `:within_1` … `:within_4` are its first 1 … 4
# segments, each followed by a dot), local goods (UMKM or consigned) before others, the
# price at the quantity the order asks of the product (`:quantities`; no take from the
# listing can be larger, and prices never rise with quantity, `pricing.validate_tiers`,
# so no take costs less), the lowest id. `:per_product` NULL is no limit. The buyer's
# own listings and goods are left out (the engine would skip them), except those a line
# is pinned to (`:pinned`), which come as well, marked, whatever their rank: the engine
# names why a pin cannot be served. The rank columns come last, for the caller to know
# where the cut fell.
_RANK_COLUMNS = """l.supply_mode = 'bulog_lot' AS is_lot,
           CASE WHEN starts_with(l.region_code || '.', :within_4) THEN 0
                WHEN starts_with(l.region_code || '.', :within_3) THEN 1
                WHEN starts_with(l.region_code || '.', :within_2) THEN 2
                WHEN starts_with(l.region_code || '.', :within_1) THEN 3
                ELSE 4 END AS remoteness,
           l.supply_mode <> 'bulog_lot' AND l.seller_kind <> 'umkm'
               AND l.owner_organization_id = l.seller_organization_id AS not_local,
           CAST(jsonb_path_query_array(
                l.tiers, '$[*] ? (@.min_quantity <= $q).unit_price',
                jsonb_build_object('q', {quantity})) ->> -1 AS bigint) AS price_at_quantity"""
_ON_OFFER = "l.status = 'active' AND (l.supply_mode <> 'stock' OR l.on_hand - l.reserved > 0)"
# The owner's kind is the listing's `seller_kind` when the seller owns the goods (the
# rank reads it there, without a join per candidate); the owner organization is joined
# for the few rows kept, for a consignor's kind and VAT registration.
_CANDIDATE_ROW = """c.id, c.no, c.seller_organization_id,
           NULLIF(c.owner_organization_id, c.seller_organization_id),
           CASE WHEN c.owner_organization_id = c.seller_organization_id THEN c.seller_kind
                ELSE o.kind END,
           o.vat_registered, c.region_code, c.available, c.min_order_quantity,
           c.supply_mode, c.tiers, c.is_lot, c.remoteness, c.not_local, c.price_at_quantity"""
_LISTING_COLUMNS = """l.id, l.seller_organization_id, l.owner_organization_id, l.seller_kind,
           l.region_code, l.on_hand - l.reserved AS available, l.min_order_quantity,
           l.supply_mode, CAST(l.tiers AS text) AS tiers"""
_CANDIDATES = DriverStatement(
    text(
        f"""
    WITH c AS MATERIALIZED (
        SELECT c.*
        FROM unnest(CAST(:product_ids AS uuid[]), CAST(:quantities AS bigint[]))
             WITH ORDINALITY AS p(id, quantity, no)
        CROSS JOIN LATERAL (
            SELECT {_LISTING_COLUMNS}, p.no, {_RANK_COLUMNS.format(quantity="p.quantity")}
            FROM listings AS l
            WHERE l.product_id = p.id AND {_ON_OFFER}
              AND l.seller_organization_id <> CAST(:buyer_id AS uuid)
              AND l.owner_organization_id <> CAST(:buyer_id AS uuid)
            ORDER BY is_lot, remoteness, not_local, price_at_quantity, l.id
            LIMIT CAST(:per_product AS integer)
        ) AS c
    )
    SELECT {_CANDIDATE_ROW}, false AS pinned
    FROM c
    JOIN organizations AS o ON o.id = c.owner_organization_id
    UNION ALL
    SELECT {_CANDIDATE_ROW}, true
    FROM (
        SELECT {_LISTING_COLUMNS},
               array_position(CAST(:product_ids AS uuid[]), l.product_id) AS no,
               {_RANK_COLUMNS.format(quantity="1")}
        FROM listings AS l
        WHERE l.id = ANY(CAST(:pinned AS uuid[]))
          AND l.product_id = ANY(CAST(:product_ids AS uuid[])) AND {_ON_OFFER}
    ) AS c
    JOIN organizations AS o ON o.id = c.owner_organization_id
    """
    )
)
_LOCK = DriverStatement(
    text(
        "SELECT l.id FROM listings AS l WHERE l.id = ANY(CAST(:ids AS uuid[])) "
        "ORDER BY l.id FOR UPDATE"
    )
)
_APPLY_DELTAS_SQL = text(
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
_APPLY_DELTAS = DriverStatement(_APPLY_DELTAS_SQL)
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

    async def product_facts(self, product_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
        """(id, category, vat_treatment, programme, net_content, net_content_unit,
        bulog_supplied, price caps as JSON text) of these products: what placing an order
        needs, as columns."""
        if not product_ids:
            return []
        driver = await session_driver(self.session)
        return await driver.fetch(_PRODUCT_FACTS, {"product_ids": list(product_ids)})

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

    async def candidates(
        self,
        driver: Driver,
        product_ids: Sequence[uuid.UUID],
        quantities: Sequence[int],
        *,
        buyer_id: uuid.UUID,
        within: Sequence[str],
        pinned: Sequence[uuid.UUID],
        per_product: int | None,
    ) -> Sequence[Any]:
        """`_CANDIDATES`' rows; `within` the delivery region's prefixes, shortest first
        (four: unused ones match nothing)."""
        if not product_ids:
            return []
        return await driver.fetch(
            _CANDIDATES,
            {
                "product_ids": list(product_ids),
                "quantities": list(quantities),
                "buyer_id": buyer_id,
                "within_1": within[0],
                "within_2": within[1],
                "within_3": within[2],
                "within_4": within[3],
                "pinned": list(pinned),
                "per_product": per_product,
            },
        )

    async def lock_in_id_order(self, listing_ids: Sequence[uuid.UUID]) -> None:
        """Row locks in primary-key order, so concurrent orders never deadlock."""
        driver = await session_driver(self.session)
        await driver.fetch(_LOCK, {"ids": sorted(set(listing_ids))})

    async def apply_deltas(
        self, deltas: Sequence[tuple[uuid.UUID, int, int]]
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """Apply (listing, Δon_hand, Δreserved) to many listings in one statement.

        Each row changes only if its stock stays valid; the result maps the listings
        that changed to (on_hand, reserved) after. Lock first (`lock_in_id_order`).
        """
        if not deltas:
            return {}
        driver = await session_driver(self.session)
        rows = await driver.fetch(
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
            driver = await session_driver(self.session)
            await driver.fetch(_INSERT_MOVEMENTS.driver_statement, params)
