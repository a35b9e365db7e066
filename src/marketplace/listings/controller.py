"""HTTP endpoints of the listings context: products, listings, stock, search, feed."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, Parameter

from marketplace.accounts import OrganizationKind
from marketplace.answers import from_row
from marketplace.conditional_requests import (
    IfMatchHeader,
    IfNoneMatchHeader,
    conditional_read_responses,
    conditional_write_responses,
    etag_header,
    fresh_or_tagged,
    if_match,
    tagged,
)
from marketplace.dependencies import READ_ONLY, READ_POOL, Caller, UoW, read_pool
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PRICE_KEY,
    PageCursor,
    PageLimit,
    decode_cursor,
    decode_id_cursor,
    paginate,
    problem_responses,
)
from marketplace.listings.domain import ProductCategory
from marketplace.listings.models import Listing, Product, StockMovement
from marketplace.listings.schemas import (
    MAX_UNIT_PRICE,
    CatalogFeedItem,
    CatalogFeedPage,
    ListingCreate,
    ListingOut,
    ListingPage,
    ListingUpdate,
    PriceCapOut,
    PriceTierOut,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductSummary,
    ProductUpdate,
    StockMovementCreate,
    StockMovementOut,
    StockMovementPage,
)
from marketplace.listings.service import (
    PRODUCT_COLUMNS,
    CatalogueService,
    FeedRow,
    ListingService,
    ProductService,
    SearchFilters,
    SearchRow,
)

SearchText = Annotated[
    str | None, Parameter(min_length=1, max_length=100, description="Product name words")
]


def product_out(p: Product) -> ProductOut:
    return from_row(ProductOut, p)


_decode_caps = msgspec.json.Decoder(list[PriceCapOut]).decode


def product_row_out(row: SearchRow) -> ProductOut:
    """A product read off the ORM (`search_repository.PRODUCT_COLUMNS`, then its price caps
    as JSON text), built as `product_out` builds it from the mapped row."""
    *columns, caps = row
    fields: dict[str, Any] = dict(zip(PRODUCT_COLUMNS, columns, strict=True))
    return msgspec.convert({**fields, "price_caps": _decode_caps(caps)}, ProductOut)


def tiers_out(listing: Listing) -> list[PriceTierOut]:
    return [PriceTierOut(**t) for t in listing.tiers]


def listing_out(listing: Listing, p: Product) -> ListingOut:
    return from_row(
        ListingOut,
        listing,
        product=from_row(ProductSummary, p),
        price_tiers=tiers_out(listing),
        unit_price=listing.base_unit_price,
        currency="IDR",
        available=max(0, listing.on_hand - listing.reserved),
    )


_decode_tiers = msgspec.json.Decoder(list[PriceTierOut]).decode


def listing_row_out(row: SearchRow) -> ListingOut:
    """A search row (plain columns by position, see `repository.SEARCH_COLUMNS`), built
    positionally: the page's biggest cost in Python after the gzip of its body."""
    (
        listing_id,
        product_id,
        seller_organization_id,
        owner_organization_id,
        seller_kind,
        category,
        region_code,
        tiers_json,
        unit_price,
        min_order_quantity,
        on_hand,
        reserved,
        supply_mode,
        status,
        created_at,
        updated_at,
        sku,
        name,
        unit_code,
        unit_label,
        vat_treatment,
        programme,
    ) = row
    return ListingOut(
        listing_id,
        ProductSummary(
            product_id, sku, name, category, unit_code, unit_label, vat_treatment, programme
        ),
        seller_organization_id,
        owner_organization_id,
        seller_kind,
        region_code,
        _decode_tiers(tiers_json),
        unit_price,
        "IDR",
        min_order_quantity,
        on_hand,
        reserved,
        on_hand - reserved if on_hand > reserved else 0,
        supply_mode,
        status,
        created_at,
        updated_at,
    )


def movement_out(m: StockMovement) -> StockMovementOut:
    return from_row(StockMovementOut, m)


def feed_item(row: FeedRow) -> CatalogFeedItem:
    listing, product, seller, owner = row
    return CatalogFeedItem(
        listing_id=listing.id,
        product_sku=product.sku,
        product_name=product.name,
        category=product.category,  # type: ignore[arg-type]
        unit_code=product.unit_code,  # type: ignore[arg-type]
        unit_label=product.unit_label,
        unit_price=listing.base_unit_price,
        price_tiers=tiers_out(listing),
        currency="IDR",
        vat_treatment=product.vat_treatment,  # type: ignore[arg-type]
        region_code=listing.region_code,
        available=max(0, listing.on_hand - listing.reserved),
        seller_name=seller.name,
        seller_npwp=seller.npwp,
        seller_nib=seller.nib,
        producer_name=owner.name,
        producer_kind=owner.kind,
        producer_npwp=owner.npwp,
        producer_nib=owner.nib,
        updated_at=listing.updated_at,
    )


class ProductController(Controller):
    path = "/v1/products"
    tags = ["catalogue"]

    @post(
        "/",
        operation_id="createProduct",
        description=(
            "A platform admin adds a catalogue product: SKU, name, category, unit, net "
            "content, VAT treatment and regional price caps (HET). A taken SKU is 409 "
            "`listings.sku_taken`."
        ),
        summary="Add a catalogue product (platform admin)",
        responses=problem_responses(401, 403, 409, 422),
    )
    async def create_product(
        self, data: JSONBody[ProductCreate], uow: UoW, principal: Caller
    ) -> ProductOut:
        product = await ProductService(uow).create(principal, data)
        await uow.commit()
        return product_out(product)

    @get(
        "/",
        operation_id="listProducts",
        description=(
            "Browse or search the catalogue: `q` searches names, `category` filters. Any "
            "authenticated key may read it."
        ),
        dependencies=READ_ONLY,
        summary="Browse or search the catalogue",
        responses=problem_responses(401),
    )
    async def list_products(
        self,
        uow: UoW,
        principal: Caller,
        q: SearchText = None,
        category: Annotated[ProductCategory | None, Parameter()] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> ProductPage:
        rows = await ProductService(uow).browse(
            query=q,
            category=category.value if category else None,
            after=decode_id_cursor(cursor),
            limit=limit + 1,
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return ProductPage(
            items=[product_out(p) for p in page],
            next_cursor=next_cursor,
        )

    @get(
        "/{product_id:uuid}",
        operation_id="getProduct",
        description=("One catalogue product. Any authenticated key may read it."),
        dependencies=READ_POOL,
        summary="One catalogue product",
        responses=conditional_read_responses(401, 404),
        response_headers=etag_header("the product"),
    )
    async def get_product(
        self,
        product_id: FromPath[uuid.UUID],
        state: State,
        principal: Caller,
        if_none_match: IfNoneMatchHeader = None,
    ) -> Response[ProductOut]:
        row, version = await CatalogueService(read_pool(state)).product(product_id)
        return fresh_or_tagged(product_row_out(row), version, if_none_match)

    @patch(
        "/{product_id:uuid}",
        operation_id="updateProduct",
        description=(
            "A platform admin changes a catalogue product (name, category, VAT treatment)."
        ),
        summary="Change a catalogue product (platform admin)",
        responses=conditional_write_responses(401, 403, 404, 422),
        response_headers=etag_header("the product as changed"),
    )
    async def update_product(
        self,
        product_id: FromPath[uuid.UUID],
        data: JSONBody[ProductUpdate],
        uow: UoW,
        principal: Caller,
        if_match_header: IfMatchHeader = None,
    ) -> Response[ProductOut]:
        precondition = if_match(if_match_header)
        product = await ProductService(uow).update(principal, product_id, data, precondition)
        await uow.commit()
        return tagged(product_out(product), product.version)


class ListingController(Controller):
    path = "/v1"
    tags = ["listings"]

    @post(
        "/listings",
        operation_id="createListing",
        description=(
            "A cooperative's or supplier's `seller` key offers a catalogue product from "
            "its stock: price tiers (rupiah per unit by quantity), minimum order, opening"
            " stock and supply mode (`stock`, or `bulog_lot` for rice pooled into Bulog "
            "lots). One listing per product and seller: a second is 409 "
            "`listings.listing_exists`; a price above the regional price cap (HET) is 422"
            " `listings.price_above_cap`."
        ),
        summary="Offer a product from your stock (sellers)",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def create_listing(
        self, data: JSONBody[ListingCreate], uow: UoW, principal: Caller
    ) -> ListingOut:
        listing, product = await ListingService(uow).create(principal, data)
        await uow.commit()
        return listing_out(listing, product)

    @get(
        "/listings",
        operation_id="searchListings",
        dependencies=READ_POOL,
        summary="Search offers; ordered by unit price, then id",
        description=(
            "Active listings, cheapest single-unit price first (ties by id), keyset-paginated. "
            "`q` matches product names tolerating spelling variants (`telor` finds `telur`); "
            "`region` is a Kemendagri code prefix (`35`, `35.76`, `35.76.02`)."
        ),
        responses=problem_responses(401),
    )
    async def search_listings(
        self,
        state: State,
        principal: Caller,
        product_id: Annotated[uuid.UUID | None, Parameter()] = None,
        category: Annotated[ProductCategory | None, Parameter()] = None,
        q: SearchText = None,
        region: Annotated[
            str | None,
            Parameter(
                pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$", description="Region prefix"
            ),
        ] = None,
        in_stock: Annotated[bool | None, Parameter()] = None,
        seller_kind: Annotated[OrganizationKind | None, Parameter()] = None,
        max_unit_price: Annotated[
            int | None,
            Parameter(ge=1, le=MAX_UNIT_PRICE, description="Integer rupiah per unit, at most"),
        ] = None,
        seller_id: Annotated[
            uuid.UUID | None,
            Parameter(description="One seller's listings; your own include paused ones"),
        ] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> ListingPage:
        filters = SearchFilters(
            product_id=product_id,
            category=category.value if category else None,
            query=q,
            region_prefix=region,
            in_stock=in_stock,
            seller_kind=seller_kind.value if seller_kind else None,
            max_unit_price=max_unit_price,
            seller_organization_id=seller_id,
        )
        rows = await CatalogueService(read_pool(state)).search_page(
            principal, filters, after=decode_cursor(cursor, PRICE_KEY), limit=limit + 1
        )
        # The cursor from the row (unit price, id): the extra row is never converted.
        page, next_cursor = paginate(rows, limit, lambda row: [row[8], row[0]])
        return ListingPage(items=[listing_row_out(r) for r in page], next_cursor=next_cursor)

    @get(
        "/listings/{listing_id:uuid}",
        operation_id="getListing",
        dependencies=READ_POOL,
        summary="One listing",
        description=(
            "One listing with its product, price tiers and stock. Visible to any "
            "authenticated key (listings are the marketplace's offer). "
            "Its `ETag` is the version of the terms the seller edits (price tiers, minimum "
            "order, status); the stock figures move with every order without changing it, "
            "so `If-None-Match` is not answered with 304 here."
        ),
        responses=problem_responses(401, 404),
        response_headers=etag_header("the listing's terms"),
    )
    async def get_listing(
        self, listing_id: FromPath[uuid.UUID], state: State, principal: Caller
    ) -> Response[ListingOut]:
        row, version = await CatalogueService(read_pool(state)).listing(principal, listing_id)
        return tagged(listing_row_out(row), version)

    @patch(
        "/listings/{listing_id:uuid}",
        operation_id="updateListing",
        description=(
            "The seller's `seller` key changes a listing's price tiers, minimum order or "
            "status (`active`, `paused`). Stock changes go through stock movements "
            "instead. A price above the cap is 422 `listings.price_above_cap`."
        ),
        summary="Change prices, minimum order or status (the seller)",
        responses=conditional_write_responses(401, 403, 404, 422),
        response_headers=etag_header("the listing's terms as changed"),
    )
    async def update_listing(
        self,
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[ListingUpdate],
        uow: UoW,
        principal: Caller,
        if_match_header: IfMatchHeader = None,
    ) -> Response[ListingOut]:
        precondition = if_match(if_match_header)
        listing, product = await ListingService(uow).update(
            principal, listing_id, data, precondition
        )
        await uow.commit()
        return tagged(listing_out(listing, product), listing.version)

    @post(
        "/listings/{listing_id:uuid}/stock-movements",
        operation_id="recordStockMovement",
        description=(
            "The seller's `seller` key receives goods into stock or corrects a stock "
            "count. A movement that would take stock below what is reserved for orders is"
            " 422 `listings.invalid_stock_movement`."
        ),
        summary="Receive goods or adjust a stock count (the seller)",
        responses=problem_responses(401, 403, 404, 422),
    )
    async def record_stock_movement(
        self,
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[StockMovementCreate],
        uow: UoW,
        principal: Caller,
    ) -> StockMovementOut:
        movement = await ListingService(uow).record_movement(principal, listing_id, data)
        await uow.commit()
        return movement_out(movement)

    @get(
        "/listings/{listing_id:uuid}/stock-movements",
        operation_id="listStockMovements",
        description=(
            "A listing's stock movement history (receipts, counts, reservations, "
            "shipments), newest first. Visible to the seller, the platform and, for "
            "consigned stock, the consignor."
        ),
        dependencies=READ_ONLY,
        summary="A listing's stock movement history (seller, owner, platform)",
        responses=problem_responses(401, 404),
    )
    async def list_stock_movements(
        self,
        listing_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> StockMovementPage:
        rows = await ListingService(uow).movements(
            principal, listing_id, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return StockMovementPage(
            items=[movement_out(m) for m in page],
            next_cursor=next_cursor,
        )

    @get(
        "/catalog/feed",
        operation_id="getCatalogFeed",
        description=(
            "The cooperatives' active offers, one item per listing with the product, "
            "price tiers, stock available and the seller's and producer's identifiers "
            "(NIB, NPWP), for a government e-catalogue to mirror. Paginated with `limit` "
            "and `cursor`. Any authenticated key may read it."
        ),
        dependencies=READ_ONLY,
        summary="Cooperatives' active offers for a government e-catalogue",
        responses=problem_responses(401),
    )
    async def catalog_feed(
        self,
        uow: UoW,
        principal: Caller,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> CatalogFeedPage:
        rows = await ListingService(uow).catalog_feed(
            after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r[0].id])
        return CatalogFeedPage(
            items=[feed_item(r) for r in page],
            next_cursor=next_cursor,
        )
