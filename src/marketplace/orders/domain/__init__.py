"""Orders' value types (pure): what the split engine takes and returns, and its errors."""

from __future__ import annotations

import enum
from uuid import UUID

import msgspec

from marketplace.errors import ValidationFailed
from marketplace.listings.domain import PriceCap, PriceTier
from marketplace.money import Rupiah
from marketplace.tax import VatTreatment


class LegKind(enum.StrEnum):
    STOCK = "stock"
    CONSIGNMENT = "consignment"
    BULOG_LOT = "bulog_lot"
    TRADE_CONTRACT = "trade_contract"


# --- inputs -------------------------------------------------------------------------


class RequestedLine(msgspec.Struct, frozen=True, gc=False):
    line_no: int
    product_id: UUID
    quantity: int
    listing_id: UUID | None = None
    """Pins the line to this one listing (stock, consignment or Bulog-lot mode)."""


class Buyer(msgspec.Struct, frozen=True, gc=False):
    organization_id: UUID
    kind: str
    delivery_region_code: str
    """Where this order's goods go (its delivery address), a Kemendagri code
    ``province.city.district.village`` (e.g. ``35.76.02.1001``). "Nearest" and a trade
    contract's city are measured from here, not from the buyer's registered address: a
    kitchen registered in Mojokerto cooking in a Blitar village is supplied from Blitar."""


class ProductRule(msgspec.Struct, frozen=True, gc=False):
    product_id: UUID
    programme: str | None = None
    unit_net_grams: int | None = None
    """Net weight of one sale unit; needed to enforce programme weight limits."""
    bulog_supplied: bool = False
    price_caps: tuple[PriceCap, ...] = ()
    """The product's zone price caps (HET) as they are now: no unit is sold above the
    cap of its seller's region (`listings.domain.cap_for_region`), whatever the price a
    listing or contract was made with."""


class StockSource(msgspec.Struct, frozen=True, gc=False):
    """A listing that ships from stock. Consignment stock when the owner isn't the seller."""

    listing_id: UUID
    product_id: UUID
    seller_org_id: UUID
    owner_org_id: UUID
    owner_kind: str
    region_code: str
    available: int
    min_order_quantity: int
    tiers: tuple[PriceTier, ...]


class BulogLotSource(msgspec.Struct, frozen=True, gc=False):
    """A cooperative's listing fulfilled by pooling demand into an open Bulog lot."""

    listing_id: UUID
    product_id: UUID
    seller_org_id: UUID
    bulog_org_id: UUID
    region_code: str
    capacity: int | None
    """Units the lot can still take; ``None`` when the lot has no ceiling."""
    min_order_quantity: int
    tiers: tuple[PriceTier, ...]


class TradeContractSource(msgspec.Struct, frozen=True, gc=False):
    """One supplying cooperative's allotment under an inter-city trade contract."""

    contract_id: UUID
    allotment_id: UUID
    product_id: UUID
    supplier_org_id: UUID
    counterparty_city_code: str
    """The city the contract delivers to, e.g. ``32.76`` (Depok)."""
    remaining: int
    unit_price: Rupiah
    levy_bps: int
    supplier_region_code: str
    """Where the supplying cooperative sells from: the zone whose price cap applies, as
    for a listing (a listing's region is its seller's)."""


Source = StockSource | BulogLotSource | TradeContractSource


SPHP_RETAIL_BUYER_KINDS = frozenset({"food_stall", "umkm"})
"""Who may order SPHP rice here: the marketplace's consumers — food stalls and UMKM buying
for their own kitchen. Never an MBG kitchen (it must cook with Bulog's premium/medium
rice, and SPHP is not for institutions), nor anyone who would resell it wholesale or
retail: a cooperative receives SPHP from its Bulog branch as a registered outlet (through
Bulog lots) and sells it; Bulog, BUMN, trade centers and governments are not consumers."""
SPHP_DAILY_LIMIT_GRAMS = 25_000
"""From 2026 a consumer may buy up to 5 packs (25 kg) of SPHP rice a day (it was 2 packs
/ 10 kg) — /work/shared/domain-facts.md, "Bulog", 2026; `SPHP_DAILY_LIMIT_KG` sets it."""


class SplitPolicy(msgspec.Struct, frozen=True):
    sphp_allowed_buyer_kinds: frozenset[str] = SPHP_RETAIL_BUYER_KINDS
    sphp_max_grams_per_day: int = SPHP_DAILY_LIMIT_GRAMS
    """Per buyer per local day, over every order placed that day (not per order)."""


DEFAULT_POLICY = SplitPolicy()


# --- outputs ------------------------------------------------------------------------


class PlannedLeg(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    line_no: int
    kind: LegKind
    product_id: UUID
    listing_id: UUID | None = None
    contract_id: UUID | None = None
    allotment_id: UUID | None = None
    supplier_org_id: UUID
    """Who sells to the buyer and fulfils the leg."""
    owner_org_id: UUID
    """Who owns the goods now: the consignor for consignment, Bulog for a lot."""
    quantity: int
    unit_price: Rupiah
    line_total: Rupiah
    levy_amount: Rupiah = 0
    """Regional levy owed on a trade-contract call-off, a share of ``line_total`` (not
    added to it); 0 for every other kind."""


class HeldBackAboveCap(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """A source left out of the split because even its lowest price is above the zone
    price cap (HET) of its region now (the cap was lowered after it was priced)."""

    listing_id: UUID | None = None
    contract_id: UUID | None = None
    allotment_id: UUID | None = None
    lowest_unit_price: Rupiah
    cap: Rupiah
    region_prefix: str


class Shortfall(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    line_no: int
    product_id: UUID
    requested: int
    unfilled: int
    held_back_above_cap: tuple[HeldBackAboveCap, ...] = ()
    """Sources of the product that would have had units but are priced above the cap:
    the reason supply exists and still falls short."""


class SplitPlan(msgspec.Struct, frozen=True):
    legs: tuple[PlannedLeg, ...]
    shortfalls: tuple[Shortfall, ...]

    @property
    def subtotal(self) -> Rupiah:
        return sum(leg.line_total for leg in self.legs)

    @property
    def levy_total(self) -> Rupiah:
        return sum(leg.levy_amount for leg in self.legs)

    @property
    def is_complete(self) -> bool:
        return not self.shortfalls

    def legs_for_line(self, line_no: int) -> tuple[PlannedLeg, ...]:
        return tuple(leg for leg in self.legs if leg.line_no == line_no)

    def require_complete(self) -> SplitPlan:
        """This plan, or `InsufficientSupply` naming every short line and by how much."""
        if self.shortfalls:
            short = "; ".join(
                f"line {s.line_no}: {s.unfilled} of {s.requested} unavailable"
                + (
                    f", {len(s.held_back_above_cap)} offer(s) held back as priced above "
                    "the zone price cap"
                    if s.held_back_above_cap
                    else ""
                )
                for s in self.shortfalls
            )
            raise InsufficientSupply(
                f"not enough supply for the order ({short})",
                shortfalls=msgspec.to_builtins(list(self.shortfalls)),
            )
        return self


# --- tax ----------------------------------------------------------------------------


def leg_vat_treatment(
    kind: LegKind, product_treatment: str, *, owner_vat_registered: bool
) -> VatTreatment:
    """The VAT treatment a leg charges: the product's, except that a consignment leg
    (goods a UMKM consignor owns) charges no VAT when the consignor is not
    VAT-registered — a non-registered business can't charge VAT. Stored on the leg as
    its effective treatment (`exempt` then), so every later recomputation on the leg
    (short-delivery credit, the consignment sale) charges the same VAT."""
    if kind is LegKind.CONSIGNMENT and not owner_vat_registered:
        return VatTreatment.EXEMPT
    return VatTreatment(product_treatment)


# --- errors -------------------------------------------------------------------------


class InvalidQuantity(ValidationFailed):
    code = "orders.invalid_quantity"
    title = "An order line's quantity must be a positive whole number"


class DuplicateLine(ValidationFailed):
    code = "orders.duplicate_line"
    title = "Two order lines share a line number"


class ProgrammeRestricted(ValidationFailed):
    code = "orders.programme_restricted"
    title = "A programme rule forbids this order line"


class ListingNotEligible(ValidationFailed):
    code = "orders.listing_not_eligible"
    title = "The pinned listing cannot supply this line"


class PriceAboveCap(ValidationFailed):
    code = "orders.price_above_cap"
    title = "The pinned listing's price is above the product's zone price cap (HET)"


class InsufficientSupply(ValidationFailed):
    code = "orders.insufficient_supply"
    title = "Not enough supply for some order lines"
