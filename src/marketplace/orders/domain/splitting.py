"""The split engine: which suppliers fill which part of each order line.

A pure function of (order lines, candidate sources, buyer, product rules, policy). For
each line, in ``line_no`` order, it fills from listings that ship from stock, nearest to
where the order is delivered first (same village, district, city, province, then
anywhere), local UMKM and consignment stock before others at the same distance, then the
cheapest price for what would be taken, then the lowest listing id. What stock cannot
fill is pooled into an open Bulog lot (Bulog-supplied products only), then called off an
inter-city trade contract that covers the delivery city. What is still missing is
reported as a shortfall; the caller decides whether to refuse the order
(`SplitPlan.require_complete`).

Zone price caps (HET) hold at the moment of sale, for every kind of leg: no unit is sold
above the product's current cap for its seller's region (a listing's region; a contract
supplier's). A source whose every price is above the cap is not on offer — another
supplier fills the line, and a short line names the sources held back; a listing whose
cheaper tiers are within the cap sells only at those quantities (like a minimum order);
a line pinned to a listing above the cap is refused (`PriceAboveCap`).

Programme rules are checked first (`programmes.check_programmes`): SPHP rice only for the
policy's buyer kinds, and within the daily limit given what the buyer bought earlier
that day (``sphp_grams_bought_today``, read by the caller).

Availability is shared across lines: two lines of the same product draw on the same
stock. Every requested unit lands in exactly one leg or in a shortfall, and the plan
depends only on the input values, never on the order the sources are given in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from uuid import UUID

import msgspec

from marketplace.listings.domain import PriceCap, PriceTier, cap_for_region, unit_price_for
from marketplace.money import Rupiah, apply_basis_points
from marketplace.orders.domain import (
    DEFAULT_POLICY,
    BulogLotSource,
    Buyer,
    DuplicateLine,
    HeldBackAboveCap,
    InsufficientSupply,
    InvalidQuantity,
    LegKind,
    ListingNotEligible,
    PlannedLeg,
    PriceAboveCap,
    ProductRule,
    ProgrammeRestricted,
    RequestedLine,
    Shortfall,
    Source,
    SplitPlan,
    SplitPolicy,
    StockSource,
    TradeContractSource,
)
from marketplace.orders.domain.programmes import SPHP_PROGRAMME, asks_for_sphp, check_programmes
from marketplace.orders.domain.regions import region_prefixes

UMKM_KIND = "umkm"
NO_CAP = 1 << 62
"""The price ceiling of a source with no cap in its region (above any real price)."""

__all__ = [
    "DEFAULT_POLICY",
    "SPHP_PROGRAMME",
    "BulogLotSource",
    "Buyer",
    "DuplicateLine",
    "HeldBackAboveCap",
    "InsufficientSupply",
    "InvalidQuantity",
    "LegKind",
    "ListingNotEligible",
    "PlannedLeg",
    "PriceAboveCap",
    "ProductRule",
    "ProgrammeRestricted",
    "RequestedLine",
    "Shortfall",
    "Source",
    "SplitPlan",
    "SplitPolicy",
    "StockSource",
    "TradeContractSource",
    "asks_for_sphp",
    "region_prefixes",
    "split_order",
]


# --- the engine ---------------------------------------------------------------------


def split_order(
    lines: Iterable[RequestedLine],
    sources: Iterable[Source],
    buyer: Buyer,
    policy: SplitPolicy = DEFAULT_POLICY,
    *,
    products: Iterable[ProductRule],
    sphp_grams_bought_today: int = 0,
) -> SplitPlan:
    """Plan which sources fill each line. See the module docstring for the order of
    preference. ``products`` must hold a rule for every requested product: a missing rule
    would silently skip programme checks, so it is a ``ValueError``.
    ``sphp_grams_bought_today``: SPHP rice the buyer already ordered on its local day.

    Raises `InvalidQuantity`, `DuplicateLine`, `ProgrammeRestricted`,
    `ListingNotEligible` or `PriceAboveCap` for a request that can never be served; a
    request that merely cannot be served *now* yields shortfalls instead.
    """
    ordered_lines = sorted(lines, key=lambda line: line.line_no)
    rules = {rule.product_id: rule for rule in products}
    _check_lines(ordered_lines, rules)
    check_programmes(ordered_lines, rules, buyer, policy, sphp_grams_bought_today)

    planner = _Planner(sources, buyer, unbounded=sum(line.quantity for line in ordered_lines))
    for line in ordered_lines:
        planner.fill(line, rules[line.product_id])
    return SplitPlan(legs=tuple(planner.legs), shortfalls=tuple(planner.shortfalls))


def _check_lines(lines: list[RequestedLine], rules: Mapping[UUID, ProductRule]) -> None:
    seen: set[int] = set()
    for line in lines:
        # Structs built in Python are not type-checked, and a fractional unit can't ship.
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            raise InvalidQuantity(
                f"line {line.line_no} asks for {line.quantity}; quantities must be at least 1",
                line_no=line.line_no,
                quantity=line.quantity,
            )
        if line.line_no in seen:
            raise DuplicateLine(f"line number {line.line_no} is used twice", line_no=line.line_no)
        seen.add(line.line_no)
        if line.product_id not in rules:
            raise ValueError(f"no product rule given for product {line.product_id}")


class _Offer(msgspec.Struct, eq=False, gc=False):
    """A listing-backed source (stock, consignment or Bulog lot) and what it has left."""

    listing_id: UUID
    kind: LegKind
    supplier_org_id: UUID
    owner_org_id: UUID
    min_take: int
    tiers: tuple[PriceTier, ...]
    floor_price: Rupiah
    """The cheapest tier's price: no quantity taken from this offer can cost less."""
    max_price: Rupiah
    """The zone price cap of its region (`NO_CAP` without one): no take priced above."""
    listing_key: int
    left: int


class _Group(msgspec.Struct):
    """Listing sources equally near the buyer and equally local. Their offers are made on
    first use, since most lines are filled before the farther groups are reached."""

    sources: list[StockSource | BulogLotSource]
    offers: list[_Offer] | None = None


class _Allotment(msgspec.Struct, eq=False, gc=False):
    source: TradeContractSource
    left: int


class _ProductSupply(msgspec.Struct):
    """One product's sources, ranked for this buyer; built the first time it is needed."""

    caps: tuple[PriceCap, ...]
    stock: list[_Group]
    lots: list[_Group]
    allotments: list[_Allotment]
    by_listing: dict[int, _Offer]
    cap_by_region: dict[str, PriceCap | None]
    held_back: dict[int, tuple[LegKind, bool, HeldBackAboveCap]]
    """Sources left out because every price is above their cap, by key: their kind,
    whether they have units (only those explain a shortfall), what is reported."""


class _Planner:
    """Mutable working state of one split: what each source has left, legs so far.

    Sources are only bucketed by product up front and ranked per product on first use,
    so cost follows the lines and their products' nearby sources, not the whole pool.
    Ids are keyed and compared by ``.int``: ``UUID`` hashing and comparison run in
    Python and dominated the profile.
    """

    def __init__(self, sources: Iterable[Source], buyer: Buyer, *, unbounded: int) -> None:
        self._buyer_id = buyer.organization_id.int
        self._buyer_segments = buyer.delivery_region_code.split(".")
        # Longest first: a source shares k leading segments with the delivery region when
        # its code (plus ".") starts with the k-segment cut.
        cuts = region_prefixes(buyer.delivery_region_code)
        self._buyer_prefixes = [(cuts[k - 1], k) for k in range(len(cuts), 0, -1)]
        self._unbounded = unbounded
        self._sources_by_product: dict[int, list[Source]] = {}
        for source in sources:
            self._sources_by_product.setdefault(source.product_id.int, []).append(source)
        self._supply: dict[int, _ProductSupply] = {}
        self._remoteness_by_region: dict[str, int] = {}
        self.legs: list[PlannedLeg] = []
        self.shortfalls: list[Shortfall] = []

    def fill(self, line: RequestedLine, rule: ProductRule) -> None:
        supply = self._supply_of(line.product_id, rule)
        held_back: tuple[HeldBackAboveCap, ...] = ()
        if line.listing_id is not None:
            unfilled = self._fill_pinned(line, line.listing_id, supply)
        else:
            unfilled = self._take_offers(line, line.quantity, self._offers_of(supply, supply.stock))
            if unfilled and rule.bulog_supplied:
                unfilled = self._take_offers(line, unfilled, self._offers_of(supply, supply.lots))
            if unfilled:
                unfilled = self._take_allotments(line, unfilled, supply.allotments)
            if unfilled:
                held_back = tuple(
                    entry
                    for _, (kind, has_units, entry) in sorted(supply.held_back.items())
                    if has_units and (kind is not LegKind.BULOG_LOT or rule.bulog_supplied)
                )
        if unfilled:
            self.shortfalls.append(
                Shortfall(line.line_no, line.product_id, line.quantity, unfilled, held_back)
            )

    def _fill_pinned(self, line: RequestedLine, listing_id: UUID, supply: _ProductSupply) -> int:
        for _ in self._offers_of(supply, supply.stock + supply.lots):
            pass  # make every offer of the product, so the pin shares its stock counter
        offer = supply.by_listing.get(listing_id.int)
        if offer is not None:
            take = min(line.quantity, offer.left)
            if take >= offer.min_take:
                price = unit_price_for(offer.tiers, take)
                if price > offer.max_price:
                    raise _pinned_above_cap(line, listing_id, price, offer.max_price)
            return self._take_offers(line, line.quantity, iter([[offer]]))
        held = supply.held_back.get(listing_id.int)
        if held is not None:
            _, _, entry = held
            raise _pinned_above_cap(line, listing_id, entry.lowest_unit_price, entry.cap)
        source = self._listing_source(listing_id)
        if source is None:
            return line.quantity  # not on offer now (sold out, closed): a shortfall
        reason = "product_mismatch" if source.product_id != line.product_id else "own_listing"
        raise ListingNotEligible(
            f"line {line.line_no} is pinned to a listing that cannot supply it ({reason})",
            line_no=line.line_no,
            listing_id=str(listing_id),
            reason=reason,
        )

    def _take_offers(
        self, line: RequestedLine, unfilled: int, ranked: Iterator[list[_Offer]]
    ) -> int:
        """Fill from ranked groups; within a group, the cheapest for what would be taken,
        the lowest listing id breaking a tie."""
        for group in ranked:
            while unfilled:
                best: _Offer | None = None
                best_take = best_price = 0
                for offer in group:  # cheapest floor first, so the scan can stop early
                    if best is not None and offer.floor_price > best_price:
                        break
                    take = unfilled if unfilled < offer.left else offer.left
                    if take < offer.min_take:
                        continue
                    price = unit_price_for(offer.tiers, take)
                    if price > offer.max_price:
                        continue  # only a larger take would reach a tier within the cap
                    if (
                        best is None
                        or price < best_price
                        or (price == best_price and offer.listing_key < best.listing_key)
                    ):
                        best, best_take, best_price = offer, take, price
                if best is None:
                    break
                best.left -= best_take
                unfilled -= best_take
                if not best.left:
                    group.remove(best)  # spent offers would only slow later scans
                self.legs.append(
                    PlannedLeg(
                        line_no=line.line_no,
                        kind=best.kind,
                        product_id=line.product_id,
                        listing_id=best.listing_id,
                        supplier_org_id=best.supplier_org_id,
                        owner_org_id=best.owner_org_id,
                        quantity=best_take,
                        unit_price=best_price,
                        line_total=best_take * best_price,
                    )
                )
            if not unfilled:
                break
        return unfilled

    def _take_allotments(
        self, line: RequestedLine, unfilled: int, allotments: list[_Allotment]
    ) -> int:
        for allotment in allotments:
            take = min(unfilled, allotment.left)
            if take <= 0:
                continue
            allotment.left -= take
            unfilled -= take
            contract = allotment.source
            total = take * contract.unit_price
            self.legs.append(
                PlannedLeg(
                    line_no=line.line_no,
                    kind=LegKind.TRADE_CONTRACT,
                    product_id=line.product_id,
                    contract_id=contract.contract_id,
                    allotment_id=contract.allotment_id,
                    supplier_org_id=contract.supplier_org_id,
                    owner_org_id=contract.supplier_org_id,
                    quantity=take,
                    unit_price=contract.unit_price,
                    line_total=total,
                    levy_amount=apply_basis_points(total, contract.levy_bps),
                )
            )
            if not unfilled:
                break
        return unfilled

    def _supply_of(self, product_id: UUID, rule: ProductRule) -> _ProductSupply:
        supply = self._supply.get(product_id.int)
        if supply is None:
            supply = self._rank_supply(self._sources_by_product.get(product_id.int, []), rule)
            self._supply[product_id.int] = supply
        return supply

    def _rank_supply(self, sources: list[Source], rule: ProductRule) -> _ProductSupply:
        stock: dict[tuple[int, int], list[StockSource | BulogLotSource]] = {}
        lots: dict[tuple[int, int], list[StockSource | BulogLotSource]] = {}
        listings: set[int] = set()
        allotments: dict[int, _Allotment] = {}
        for source in sources:
            if isinstance(source, TradeContractSource):
                if source.allotment_id.int in allotments:
                    raise ValueError(f"allotment {source.allotment_id} is given twice")
                allotments[source.allotment_id.int] = _Allotment(source, max(source.remaining, 0))
                continue
            if source.listing_id.int in listings:
                raise ValueError(f"listing {source.listing_id} is given twice")
            listings.add(source.listing_id.int)
            remoteness = self._remoteness(source.region_code)
            if isinstance(source, BulogLotSource):
                lots.setdefault((remoteness, 0), []).append(source)
            else:
                local = source.owner_kind == UMKM_KIND or (
                    source.owner_org_id.int != source.seller_org_id.int
                )
                stock.setdefault((remoteness, 0 if local else 1), []).append(source)
        supply = _ProductSupply(
            caps=rule.price_caps,
            stock=[_Group(stock[rank]) for rank in sorted(stock)],
            lots=[_Group(lots[rank]) for rank in sorted(lots)],
            allotments=[],
            by_listing={},
            cap_by_region={},
            held_back={},
        )
        for allotment in allotments.values():
            contract = allotment.source
            if not self._contract_covers_buyer(contract):
                continue
            cap = self._cap(supply, contract.supplier_region_code)
            if cap is None or contract.unit_price <= cap.max_unit_price:
                supply.allotments.append(allotment)
            else:
                supply.held_back[contract.allotment_id.int] = (
                    LegKind.TRADE_CONTRACT,
                    allotment.left > 0,
                    HeldBackAboveCap(
                        contract_id=contract.contract_id,
                        allotment_id=contract.allotment_id,
                        lowest_unit_price=contract.unit_price,
                        cap=cap.max_unit_price,
                        region_prefix=cap.region_prefix,
                    ),
                )
        supply.allotments.sort(
            key=lambda a: (a.source.unit_price, a.source.contract_id.int, a.source.allotment_id.int)
        )
        return supply

    def _cap(self, supply: _ProductSupply, region_code: str) -> PriceCap | None:
        """The product's cap for a seller's region, looked up once per region."""
        if not supply.caps:
            return None
        if region_code not in supply.cap_by_region:
            supply.cap_by_region[region_code] = cap_for_region(supply.caps, region_code)
        return supply.cap_by_region[region_code]

    def _offers_of(self, supply: _ProductSupply, groups: list[_Group]) -> Iterator[list[_Offer]]:
        for group in groups:
            if group.offers is None:
                offers = []
                for source in group.sources:
                    if not self._serves(source):
                        continue
                    cap = self._cap(supply, source.region_code)
                    offer = self._offer(source, cap)
                    if cap is None or offer.floor_price <= cap.max_unit_price:
                        offers.append(offer)
                    else:
                        supply.held_back[offer.listing_key] = (
                            offer.kind,
                            offer.left > 0,
                            HeldBackAboveCap(
                                listing_id=offer.listing_id,
                                lowest_unit_price=offer.floor_price,
                                cap=cap.max_unit_price,
                                region_prefix=cap.region_prefix,
                            ),
                        )
                offers.sort(key=lambda offer: (offer.floor_price, offer.listing_key))
                supply.by_listing.update((offer.listing_key, offer) for offer in offers)
                group.offers = offers
            yield group.offers

    def _offer(self, source: StockSource | BulogLotSource, cap: PriceCap | None) -> _Offer:
        if isinstance(source, BulogLotSource):
            # A lot with no ceiling can never take more than the whole order.
            capacity = self._unbounded if source.capacity is None else source.capacity
            kind, owner_org_id = LegKind.BULOG_LOT, source.bulog_org_id
        else:
            capacity = source.available
            consigned = source.owner_org_id.int != source.seller_org_id.int
            kind = LegKind.CONSIGNMENT if consigned else LegKind.STOCK
            owner_org_id = source.owner_org_id
        return _Offer(
            listing_id=source.listing_id,
            kind=kind,
            supplier_org_id=source.seller_org_id,
            owner_org_id=owner_org_id,
            min_take=max(source.min_order_quantity, 1),
            tiers=source.tiers,
            floor_price=min((tier.unit_price for tier in source.tiers), default=0),
            max_price=NO_CAP if cap is None else cap.max_unit_price,
            listing_key=source.listing_id.int,
            left=max(capacity, 0),
        )

    def _serves(self, source: StockSource | BulogLotSource) -> bool:
        # An organization never buys from itself, nor buys back goods it owns.
        owner = source.bulog_org_id if isinstance(source, BulogLotSource) else source.owner_org_id
        return self._buyer_id not in (source.seller_org_id.int, owner.int)

    def _contract_covers_buyer(self, contract: TradeContractSource) -> bool:
        city = contract.counterparty_city_code.split(".")
        in_city = self._buyer_segments[: len(city)] == city
        return in_city and contract.supplier_org_id.int != self._buyer_id

    def _remoteness(self, region_code: str) -> int:
        """0 for the buyer's own village, 1 its district, ... up to the code's length."""
        remoteness = self._remoteness_by_region.get(region_code)
        if remoteness is None:
            code, remoteness = region_code + ".", len(self._buyer_segments)
            for prefix, shared in self._buyer_prefixes:
                if code.startswith(prefix):
                    remoteness -= shared
                    break
            self._remoteness_by_region[region_code] = remoteness
        return remoteness

    def _listing_source(self, listing_id: UUID) -> StockSource | BulogLotSource | None:
        for sources in self._sources_by_product.values():
            for source in sources:
                if not isinstance(source, TradeContractSource) and source.listing_id == listing_id:
                    return source
        return None


def _pinned_above_cap(
    line: RequestedLine, listing_id: UUID, price: Rupiah, cap: Rupiah
) -> PriceAboveCap:
    return PriceAboveCap(
        f"line {line.line_no} is pinned to a listing priced at Rp{price:,}, above the zone "
        f"price cap of Rp{cap:,}".replace(",", "."),
        line_no=line.line_no,
        listing_id=str(listing_id),
        unit_price=price,
        cap=cap,
    )
