"""Pure listing rules: catalogue vocabulary, zone price caps, stock movements, search text."""

from __future__ import annotations

import enum
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence

import msgspec

from marketplace.errors import ValidationFailed
from marketplace.listings.domain.pricing import PriceTier, unit_price_for


class ProductCategory(enum.StrEnum):
    RICE = "rice"
    OIL = "oil"
    SUGAR = "sugar"
    EGGS = "eggs"
    FLOUR = "flour"
    MEAT = "meat"
    VEGETABLES = "vegetables"
    FRUIT = "fruit"
    SPICES = "spices"
    PROCESSED_FOOD = "processed_food"
    OTHER = "other"


class UnitCode(enum.StrEnum):
    """UN/CEFACT Recommendation 20/21 codes for sale units."""

    KILOGRAM = "KGM"
    GRAM = "GRM"
    LITRE = "LTR"
    PIECE = "H87"
    SACK = "XSA"
    TRAY = "XPU"
    BOTTLE = "XBO"
    CARTON = "XCT"
    BUNDLE = "XBE"
    PACK = "XPK"


class NetContentUnit(enum.StrEnum):
    GRAM = "GRM"
    MILLILITRE = "MLT"
    PIECE = "H87"


class Programme(enum.StrEnum):
    # Bulog price-stabilisation rice: consumers only, a daily limit per buyer (25 kg
    # from 2026: `orders.domain.SPHP_DAILY_LIMIT_GRAMS`).
    SPHP = "sphp"


class SupplyMode(enum.StrEnum):
    STOCK = "stock"
    BULOG_LOT = "bulog_lot"


class ListingStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class MovementKind(enum.StrEnum):
    RECEIVE = "receive"  # goods in
    ADJUST = "adjust"  # stock count correction, ±, with a reason
    RESERVE = "reserve"  # held for an order
    RELEASE = "release"  # reservation given back
    SHIP = "ship"  # reserved goods leave
    RETURN = "return"  # consignment goods handed back to the consignor


MANUAL_MOVEMENTS = frozenset({MovementKind.RECEIVE, MovementKind.ADJUST})


class PriceAboveCap(ValidationFailed):
    code = "listings.price_above_cap"
    title = "A price is above the product's zone price cap (HET)"


class InvalidStockMovement(ValidationFailed):
    code = "listings.invalid_stock_movement"


class InsufficientStock(ValidationFailed):
    code = "listings.insufficient_stock"
    title = "Not enough stock"


class PriceCap(msgspec.Struct, frozen=True):
    """Highest unit price (per sale unit) allowed for listings in a region prefix."""

    region_prefix: str
    max_unit_price: int


def cap_for_region(caps: Iterable[PriceCap], region_code: str) -> PriceCap | None:
    """The most specific cap whose prefix covers the region (a city cap beats a province's)."""
    best: PriceCap | None = None
    for cap in caps:
        if _covers(cap.region_prefix, region_code) and (
            best is None or len(cap.region_prefix) > len(best.region_prefix)
        ):
            best = cap
    return best


def priced_above_cap(
    tiers: Sequence[PriceTier], caps: Iterable[PriceCap], region_code: str
) -> PriceCap | None:
    """The region's cap when even the cheapest tier is above it (nothing can be sold
    within the cap), else None."""
    cap = cap_for_region(caps, region_code)
    if cap is None or min(tier.unit_price for tier in tiers) <= cap.max_unit_price:
        return None
    return cap


def _covers(prefix: str, region_code: str) -> bool:
    return region_code == prefix or region_code.startswith(prefix + ".")


def check_price_caps(
    tiers: Sequence[PriceTier], caps: Iterable[PriceCap], region_code: str
) -> None:
    cap = cap_for_region(caps, region_code)
    if cap is None:
        return
    over = [t for t in tiers if t.unit_price > cap.max_unit_price]
    if over:
        raise PriceAboveCap(
            f"Unit price Rp{over[0].unit_price:,} is above the cap of Rp{cap.max_unit_price:,} "
            f"for region {cap.region_prefix}.".replace(",", "."),
            cap=cap.max_unit_price,
            region_prefix=cap.region_prefix,
            unit_price=over[0].unit_price,
        )


class StockLevel(msgspec.Struct, frozen=True):
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def movement_deltas(kind: MovementKind, quantity: int) -> tuple[int, int]:
    """(Δ on_hand, Δ reserved) of a movement. `quantity` is signed only for `adjust`."""
    if kind is MovementKind.ADJUST:
        if quantity == 0:
            raise InvalidStockMovement("An adjustment must change the stock.", quantity=quantity)
        return quantity, 0
    if quantity <= 0:
        raise InvalidStockMovement(
            f"A {kind.value} movement needs a positive quantity.", quantity=quantity
        )
    return {
        MovementKind.RECEIVE: (quantity, 0),
        MovementKind.RESERVE: (0, quantity),
        MovementKind.RELEASE: (0, -quantity),
        MovementKind.SHIP: (-quantity, -quantity),
        MovementKind.RETURN: (-quantity, 0),
    }[kind]


def apply_movement(level: StockLevel, kind: MovementKind, quantity: int) -> StockLevel:
    """The stock after a movement; refuses negative stock or reservations beyond it."""
    d_on_hand, d_reserved = movement_deltas(kind, quantity)
    after = StockLevel(on_hand=level.on_hand + d_on_hand, reserved=level.reserved + d_reserved)
    if after.on_hand < 0 or after.reserved < 0 or after.reserved > after.on_hand:
        raise InsufficientStock(
            f"This {kind.value} of {quantity} would leave on_hand {after.on_hand} "
            f"with {after.reserved} reserved.",
            on_hand=level.on_hand,
            reserved=level.reserved,
            available=level.available,
            quantity=quantity,
        )
    return after


# --- search text ---------------------------------------------------------------------

# Common Indonesian spelling variants and colloquial names a buyer types.
SEARCH_ALIASES: dict[str, tuple[str, ...]] = {
    "telur": ("telor",),
    "minyak goreng": ("migor",),
    "gula pasir": ("gula putih",),
    "tepung terigu": ("terigu",),
    "ayam potong": ("ayam broiler", "daging ayam"),
    "kangkung": ("kangkong",),
    "beras": ("bras",),
}


def normalize_search_text(text: str) -> str:
    """Lower-case, accents stripped, punctuation to spaces, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", stripped)).strip()


def product_search_text(name: str, name_en: str | None, category: str) -> str:
    base = normalize_search_text(" ".join(filter(None, [name, name_en, category])))
    aliases = [alias for term, extra in SEARCH_ALIASES.items() if term in base for alias in extra]
    return " ".join([base, *aliases])


class SearchFilters(msgspec.Struct, frozen=True, kw_only=True):
    product_id: uuid.UUID | None = None
    category: str | None = None
    query: str | None = None
    region_prefix: str | None = None
    in_stock: bool | None = None
    seller_kind: str | None = None
    max_unit_price: int | None = None
    seller_organization_id: uuid.UUID | None = None
    # Paused listings too: only for a seller looking at its own (never mixed with the
    # public catalogue, so every search keeps to the indexes on active listings).
    include_paused: bool = False


__all__ = [
    "MANUAL_MOVEMENTS",
    "SEARCH_ALIASES",
    "InsufficientStock",
    "InvalidStockMovement",
    "ListingStatus",
    "MovementKind",
    "NetContentUnit",
    "PriceAboveCap",
    "PriceCap",
    "PriceTier",
    "ProductCategory",
    "Programme",
    "SearchFilters",
    "StockLevel",
    "SupplyMode",
    "UnitCode",
    "apply_movement",
    "cap_for_region",
    "check_price_caps",
    "movement_deltas",
    "normalize_search_text",
    "priced_above_cap",
    "product_search_text",
    "unit_price_for",
]
