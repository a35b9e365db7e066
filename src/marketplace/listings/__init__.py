"""Listings: catalogue products, seller listings, their price tiers and their stock.

A product is a catalogue item (category, unit, VAT treatment, programme restriction such
as SPHP retail-only, zone price cap); a listing is one seller's offer of it at one place,
with quantity price tiers, a minimum order quantity, an owner (the seller, or a UMKM
consignor) and a supply mode (ships from stock, or pooled into a Bulog lot). Stock
changes are an append-only movement log, and reservations never exceed what is on hand.
"""

from marketplace.listings.schemas import (
    ListingCreate,
    ListingUpdate,
    PriceTierIn,
    StockMovementCreate,
)
from marketplace.listings.service import CatalogueService, ListingService, ProductService
from marketplace.listings.stock_service import (
    ProductFacts,
    SourceListing,
    StockChanged,
    StockService,
    decoded_tiers,
)

__all__ = [
    "CatalogueService",
    "ListingCreate",
    "ListingService",
    "ListingUpdate",
    "PriceTierIn",
    "ProductFacts",
    "ProductService",
    "SourceListing",
    "StockChanged",
    "StockMovementCreate",
    "StockService",
    "decoded_tiers",
]
