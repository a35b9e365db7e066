"""Use cases of the listings context. Callers own the transaction (see `marketplace.db`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

import msgspec

from marketplace import outbox
from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.entity_tags import UNCONDITIONAL, IfMatch
from marketplace.errors import Conflict, NotFound, PermissionDenied
from marketplace.ids import new_id
from marketplace.listings import domain
from marketplace.listings.domain import (
    ListingStatus,
    MovementKind,
    PriceCap,
    SearchFilters,
    StockLevel,
    SupplyMode,
)
from marketplace.listings.domain.events import ListingPaused
from marketplace.listings.domain.pricing import PriceTier, validate_tiers
from marketplace.listings.models import Listing, Product, StockMovement
from marketplace.listings.repository import FeedRow, ListingRepository, ProductRepository
from marketplace.listings.search_repository import (
    PRODUCT_COLUMNS,
    CatalogueRepository,
    SearchRow,
)

__all__ = [
    "PRODUCT_COLUMNS",
    "CatalogueService",
    "FeedRow",
    "ListingService",
    "ProductService",
    "SearchFilters",
    "SearchRow",
]
from marketplace.listings.schemas import (
    ListingCreate,
    ListingUpdate,
    PriceCapIn,
    PriceTierIn,
    ProductCreate,
    ProductUpdate,
    StockMovementCreate,
)
from marketplace.read_pool import ReadPool
from marketplace.tax import category_vat_treatment

SUPPLIER_KINDS = (
    OrganizationKind.COOPERATIVE,
    OrganizationKind.UMKM,
    OrganizationKind.BULOG,
    OrganizationKind.BUMN,
)


class SkuTaken(Conflict):
    code = "listings.sku_taken"


class ListingExists(Conflict):
    code = "listings.listing_exists"


class ProductService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.products = ProductRepository(uow.session)
        self.listings = ListingRepository(uow.session)

    async def create(self, principal: Principal | None, data: ProductCreate) -> Product:
        if principal is not None:
            principal.require_platform_admin()
        if await self.products.get_by_sku(data.sku) is not None:
            raise SkuTaken("A product with this SKU exists.", sku=data.sku)
        product = Product(
            id=new_id(),
            sku=data.sku,
            name=data.name,
            name_en=data.name_en,
            category=data.category.value,
            unit_code=data.unit_code.value,
            unit_label=data.unit_label,
            net_content=data.net_content,
            net_content_unit=data.net_content_unit.value,
            vat_treatment=(data.vat_treatment or category_vat_treatment(data.category)).value,
            programme=data.programme.value if data.programme else None,
            bulog_supplied=data.bulog_supplied,
            price_caps=_caps_json(data.price_caps),
            search_text=domain.product_search_text(data.name, data.name_en, data.category),
        )
        self.products.add(product)
        await self.products.flush()
        return product

    async def update(
        self,
        principal: Principal,
        product_id: uuid.UUID,
        data: ProductUpdate,
        if_match: IfMatch = UNCONDITIONAL,
    ) -> Product:
        principal.require_platform_admin()
        product = await self.products.get_locked(product_id)
        if product is None:
            raise NotFound("No such product.")
        # Under the row lock: no other write comes between this comparison and ours.
        if_match.ensure(product.version)
        if data.name is not msgspec.UNSET:
            product.name = data.name
        if data.name_en is not msgspec.UNSET:
            product.name_en = data.name_en
        if data.vat_treatment is not msgspec.UNSET:
            product.vat_treatment = data.vat_treatment.value
        if data.programme is not msgspec.UNSET:
            product.programme = data.programme.value if data.programme else None
        if data.bulog_supplied is not msgspec.UNSET:
            product.bulog_supplied = data.bulog_supplied
        if data.price_caps is not msgspec.UNSET:
            product.price_caps = _caps_json(data.price_caps)
            await self._pause_listings_above_caps(product)
        product.search_text = domain.product_search_text(
            product.name, product.name_en, product.category
        )
        await self.products.flush()
        return product

    async def _pause_listings_above_caps(self, product: Product) -> None:
        """New caps apply to the sale at once (placement never sells above them); an
        active listing that can now sell nothing within its region's cap is paused, so
        search stops offering it, and its seller is told (`listing.paused`) to reprice.
        A listing with cheaper tiers within the cap stays active and sells only at
        those quantities."""
        caps = product_caps(product)
        if not caps:
            return
        for listing in await self.listings.active_of_product(product.id):
            cap = domain.priced_above_cap(listing_tiers(listing), caps, listing.region_code)
            if cap is None:
                continue
            listing.status = ListingStatus.PAUSED
            outbox.emit(
                self.uow,
                ListingPaused(
                    listing_id=listing.id,
                    product_id=product.id,
                    reason="price_above_cap",
                    lowest_unit_price=min(t["unit_price"] for t in listing.tiers),
                    cap=cap.max_unit_price,
                    region_prefix=cap.region_prefix,
                ),
                organization_id=listing.seller_organization_id,
            )

    async def get(self, product_id: uuid.UUID) -> Product:
        product = await self.products.get(product_id)
        if product is None:
            raise NotFound("No such product.")
        return product

    async def get_many(self, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Product]:
        """The products by id, in one query; an id of no product is left out."""
        return await self.products.get_many(sorted(set(product_ids)))

    async def browse(
        self, *, query: str | None, category: str | None, after: uuid.UUID | None, limit: int
    ) -> list[Product]:
        normalized = domain.normalize_search_text(query) if query else None
        return await self.products.list_page(
            query=normalized or None, category=category, after=after, limit=limit
        )


def _caps_json(caps: Sequence[PriceCapIn]) -> list[dict[str, object]]:
    return [{"region_prefix": c.region_prefix, "max_unit_price": c.max_unit_price} for c in caps]


def product_caps(product: Product) -> list[PriceCap]:
    return [msgspec.convert(c, PriceCap) for c in product.price_caps]


def listing_tiers(listing: Listing) -> tuple[PriceTier, ...]:
    return tuple(msgspec.convert(t, PriceTier) for t in listing.tiers)


def _tiers(tiers: Sequence[PriceTierIn]) -> tuple[PriceTier, ...]:
    return validate_tiers(
        [PriceTier(min_quantity=t.min_quantity, unit_price=t.unit_price) for t in tiers]
    )


def _tiers_json(tiers: Sequence[PriceTier]) -> list[dict[str, int]]:
    return [{"min_quantity": t.min_quantity, "unit_price": t.unit_price} for t in tiers]


class ListingService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.listings = ListingRepository(uow.session)
        self.products = ProductRepository(uow.session)
        self.organizations = OrganizationDirectory(uow)

    async def create(self, principal: Principal, data: ListingCreate) -> tuple[Listing, Product]:
        principal.require_role(Role.SELLER)
        seller_id = principal.organization_id
        if data.seller_organization_id is not None:
            principal.acting_for(data.seller_organization_id, "organization")
            seller_id = data.seller_organization_id
        seller = await self.organizations.get(seller_id)
        if seller is None:
            raise NotFound("No such organization.")
        if seller.kind not in SUPPLIER_KINDS:
            raise PermissionDenied(
                "Only cooperatives, UMKM, Bulog and BUMN organizations list supply.",
                organization_kind=seller.kind,
            )
        product = await self.products.get(data.product_id)
        if product is None:
            raise NotFound("No such product.", product_id=data.product_id)
        return await self.open_listing(
            seller_id=seller.id,
            seller_kind=seller.kind.value,
            owner_id=seller.id,
            region_code=seller.region_code,
            product=product,
            tiers=_tiers(data.price_tiers),
            min_order_quantity=data.min_order_quantity,
            supply_mode=data.supply_mode,
            status=data.status,
            opening_stock=data.opening_stock,
            principal=principal,
        )

    async def open_listing(
        self,
        *,
        seller_id: uuid.UUID,
        seller_kind: str,
        owner_id: uuid.UUID,
        region_code: str,
        product: Product,
        tiers: tuple[PriceTier, ...],
        min_order_quantity: int,
        supply_mode: SupplyMode,
        status: ListingStatus,
        opening_stock: int,
        principal: Principal | None,
    ) -> tuple[Listing, Product]:
        """Create a listing (also used by consignment intakes, with a UMKM owner)."""
        domain.check_price_caps(tiers, product_caps(product), region_code)
        if await self.listings.find_existing(seller_id, product.id, owner_id, supply_mode.value):
            raise ListingExists(
                "This seller already lists this product for this owner; change that listing.",
                product_id=product.id,
            )
        listing = Listing(
            id=new_id(),
            seller_organization_id=seller_id,
            owner_organization_id=owner_id,
            product_id=product.id,
            seller_kind=seller_kind,
            category=product.category,
            region_code=region_code,
            tiers=_tiers_json(tiers),
            base_unit_price=tiers[0].unit_price,
            min_order_quantity=min_order_quantity,
            on_hand=0,
            reserved=0,
            supply_mode=supply_mode.value,
            status=status.value,
        )
        self.listings.add(listing)
        await self.listings.flush()
        if opening_stock:
            await self.move(
                listing, MovementKind.RECEIVE, opening_stock, principal, "opening stock"
            )
        return listing, product

    async def of_seller(
        self, principal: Principal, *, after: uuid.UUID | None, limit: int
    ) -> list[tuple[Listing, Product]]:
        """The caller's listings as their seller (a clerk's stock list)."""
        return await self.listings.sellers_page(scope=principal.scope, after=after, limit=limit)

    async def find_for_owner(
        self, seller_id: uuid.UUID, product_id: uuid.UUID, owner_id: uuid.UUID
    ) -> Listing | None:
        """The seller's stock listing of a product held for `owner_id` (consignment), if any."""
        return await self.listings.find_existing(
            seller_id, product_id, owner_id, SupplyMode.STOCK.value
        )

    async def get_unchecked(self, listing_id: uuid.UUID) -> Listing | None:
        """A listing by id for another context that authorizes by itself."""
        return await self.listings.get(listing_id)

    async def get(self, principal: Principal, listing_id: uuid.UUID) -> tuple[Listing, Product]:
        found = await self.listings.get_with_product(listing_id)
        if found is None or not self._can_view(principal, found[0]):
            raise NotFound("No such listing.")
        return found

    def _can_view(self, principal: Principal, listing: Listing) -> bool:
        """Active listings are a public catalogue; paused ones only their seller sees."""
        return listing.status == ListingStatus.ACTIVE or principal.is_party(
            listing.seller_organization_id, listing.owner_organization_id
        )

    async def _managed(
        self, principal: Principal, listing_id: uuid.UUID, *, lock: bool = False
    ) -> Listing:
        """A listing the caller may change: its seller (or the platform); others get 404.
        `lock`: its row locked, to change its terms."""
        listing = await (self.listings.get_locked if lock else self.listings.get)(listing_id)
        if listing is None or not principal.is_party(listing.seller_organization_id):
            raise NotFound("No such listing.")
        principal.require_role(Role.SELLER)
        principal.acting_for(listing.seller_organization_id, "listing")
        return listing

    @staticmethod
    def check_price_caps(product: Product, tiers: Sequence[PriceTier], region_code: str) -> None:
        """`listings.price_above_cap` if a price is above the product's cap where it would
        be sold (the cap of the seller's region, as for a listing)."""
        domain.check_price_caps(tiers, product_caps(product), region_code)

    async def update(
        self,
        principal: Principal,
        listing_id: uuid.UUID,
        data: ListingUpdate,
        if_match: IfMatch = UNCONDITIONAL,
    ) -> tuple[Listing, Product]:
        listing = await self._managed(principal, listing_id, lock=True)
        # Under the row lock: no other write comes between this comparison and ours.
        if_match.ensure(listing.version)
        product = await self.products.get(listing.product_id)
        assert product is not None
        if data.price_tiers is not msgspec.UNSET:
            tiers = _tiers(data.price_tiers)
            domain.check_price_caps(tiers, product_caps(product), listing.region_code)
            listing.tiers = _tiers_json(tiers)
            listing.base_unit_price = tiers[0].unit_price
        elif data.status is ListingStatus.ACTIVE and listing.status != ListingStatus.ACTIVE:
            # Re-opened with the prices it had: they must be within today's cap, as for a
            # new listing (a cap lowered meanwhile paused it).
            domain.check_price_caps(
                listing_tiers(listing), product_caps(product), listing.region_code
            )
        if data.min_order_quantity is not msgspec.UNSET:
            listing.min_order_quantity = data.min_order_quantity
        if data.status is not msgspec.UNSET:
            listing.status = data.status
        await self.listings.flush()
        await self.listings.refresh(listing)
        return listing, product

    async def record_movement(
        self, principal: Principal, listing_id: uuid.UUID, data: StockMovementCreate
    ) -> StockMovement:
        listing = await self._managed(principal, listing_id)
        kind = MovementKind(data.kind)
        if kind is MovementKind.ADJUST and not (data.reason and data.reason.strip()):
            raise domain.InvalidStockMovement(
                "An adjustment needs a reason (stock count, damage, expiry...)."
            )
        return await self.move(listing, kind, data.quantity, principal, data.reason, data.reference)

    async def move(
        self,
        listing: Listing,
        kind: MovementKind,
        quantity: int,
        principal: Principal | None,
        reason: str | None = None,
        reference: str | None = None,
    ) -> StockMovement:
        """Apply one movement with one conditional UPDATE and log it."""
        d_on_hand, d_reserved = domain.movement_deltas(kind, quantity)
        after = await self.listings.move_stock(listing.id, d_on_hand, d_reserved)
        if after is None:
            level = await self.listings.stock_level(listing.id)
            if level is None:
                raise NotFound("No such listing.")
            # Re-run the pure rule for the figures of the refusal.
            domain.apply_movement(StockLevel(on_hand=level[0], reserved=level[1]), kind, quantity)
            raise domain.InsufficientStock("The stock changed; try again.")
        movement = StockMovement(
            id=new_id(),
            listing_id=listing.id,
            kind=kind.value,
            on_hand_delta=d_on_hand,
            reserved_delta=d_reserved,
            on_hand_after=after[0],
            reserved_after=after[1],
            reason=reason,
            reference=reference,
            actor_organization_id=principal.organization_id if principal else None,
            actor_api_key_id=principal.api_key_id if principal else None,
            actor_person_id=principal.person_id if principal else None,
        )
        self.listings.add_movement(movement)
        await self.listings.flush()
        return movement

    async def movements(
        self, principal: Principal, listing_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[StockMovement]:
        listing = await self.listings.get(listing_id)
        if listing is None or not principal.is_party(
            listing.seller_organization_id, listing.owner_organization_id
        ):
            raise NotFound("No such listing.")
        return await self.listings.movements_page(listing_id, after=after, limit=limit)

    async def own_stock_listing(
        self, product_id: uuid.UUID, organization_id: uuid.UUID
    ) -> Listing | None:
        return await self.listings.own_stock_listing(product_id, organization_id)

    async def catalog_feed(self, *, after: uuid.UUID | None, limit: int) -> list[FeedRow]:
        return await self.listings.catalog_feed(after=after, limit=limit)


class CatalogueService:
    """The catalogue page: one read through the read pool, no unit of work.

    Every buyer's search is this one statement; it sees committed data only (each
    statement in autocommit), as a READ COMMITTED transaction would.
    """

    def __init__(self, reads: ReadPool) -> None:
        self.catalogue = CatalogueRepository(reads)

    @staticmethod
    def catalogue_filters(principal: Principal, filters: SearchFilters) -> SearchFilters:
        """Normalised text; paused listings only for a seller asking for its own."""
        query = domain.normalize_search_text(filters.query) if filters.query else None
        own = filters.seller_organization_id is not None and (
            principal.is_party(filters.seller_organization_id)
        )
        return msgspec.structs.replace(filters, query=query or None, include_paused=own)

    async def product(self, product_id: uuid.UUID) -> tuple[SearchRow, int]:
        """One catalogue product's row (`search_repository.PRODUCT_COLUMNS`, then its price
        caps as JSON text) and its version; any caller may read the catalogue."""
        row = await self.catalogue.one_product(product_id)
        if row is None:
            raise NotFound("No such product.")
        *columns, version = row
        return columns, int(version)

    async def listing(self, principal: Principal, listing_id: uuid.UUID) -> tuple[SearchRow, int]:
        """One listing as a search row and its terms' version; not found as
        `ListingService.get` (a paused listing is seen by its seller only)."""
        row = await self.catalogue.one_listing(listing_id)
        if row is None:
            raise NotFound("No such listing.")
        *columns, version = row
        seller, owner, status = columns[2], columns[3], columns[13]
        if status != ListingStatus.ACTIVE and not principal.is_party(seller, owner):
            raise NotFound("No such listing.")
        return columns, int(version)

    async def search_page(
        self,
        principal: Principal,
        filters: SearchFilters,
        *,
        after: tuple[int, uuid.UUID] | None,
        limit: int,
    ) -> list[SearchRow]:
        filters = self.catalogue_filters(principal, filters)
        return await self.catalogue.search_rows(filters, after=after, limit=limit)
