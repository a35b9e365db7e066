"""The split engine: which suppliers fill which part of each order line.

A pure function of (order lines, candidate sources, buyer, product rules, policy). For
each line, in ``line_no`` order, it fills from listings that ship from stock, nearest to
the buyer first (same village, district, city, province, then anywhere), local UMKM and
consignment stock before others at the same distance, then the cheapest price for what
would be taken, then the lowest listing id. What stock cannot fill is pooled into an
open Bulog lot (Bulog-supplied products only), then called off an inter-city trade
contract that covers the buyer's city. What is still missing is reported as a shortfall;
the caller decides whether to refuse the order (`SplitPlan.require_complete`).

Availability is shared across lines: two lines of the same product draw on the same
stock. Every requested unit lands in exactly one leg or in a shortfall, and the plan
depends only on the input values, never on the order the sources are given in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from uuid import UUID

import msgspec

from marketplace.listings.pricing import PriceTier, unit_price_for
from marketplace.money import Rupiah, apply_basis_points
from marketplace.orders.domain import (
    DEFAULT_POLICY,
    BulogLotSource,
    Buyer,
    DuplicateLine,
    InsufficientSupply,
    InvalidQuantity,
    LegKind,
    ListingNotEligible,
    PlannedLeg,
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

SPHP_PROGRAMME = "sphp"
"""Bulog's price-stabilisation rice: retail only, capped per consumer per order."""
UMKM_KIND = "umkm"

__all__ = [
    "DEFAULT_POLICY",
    "BulogLotSource",
    "Buyer",
    "DuplicateLine",
    "InsufficientSupply",
    "InvalidQuantity",
    "LegKind",
    "ListingNotEligible",
    "PlannedLeg",
    "ProductRule",
    "ProgrammeRestricted",
    "RequestedLine",
    "Shortfall",
    "Source",
    "SplitPlan",
    "SplitPolicy",
    "StockSource",
    "TradeContractSource",
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
) -> SplitPlan:
    """Plan which sources fill each line. See the module docstring for the order of
    preference. ``products`` must hold a rule for every requested product: a missing rule
    would silently skip programme checks, so it is a ``ValueError``.

    Raises `InvalidQuantity`, `DuplicateLine`, `ProgrammeRestricted` or
    `ListingNotEligible` for a request that can never be served; a request that merely
    cannot be served *now* yields shortfalls instead.
    """
    ordered_lines = sorted(lines, key=lambda line: line.line_no)
    rules = {rule.product_id: rule for rule in products}
    _check_lines(ordered_lines, rules)
    _check_programmes(ordered_lines, rules, buyer, policy)

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


def _check_programmes(
    lines: list[RequestedLine],
    rules: Mapping[UUID, ProductRule],
    buyer: Buyer,
    policy: SplitPolicy,
) -> None:
    # The cap is per consumer per order, so it sums every SPHP line, whatever the pack.
    sphp_grams = 0
    limit = policy.sphp_max_grams_per_order
    for line in lines:
        rule = rules[line.product_id]
        if rule.programme != SPHP_PROGRAMME:
            continue
        if buyer.kind not in policy.sphp_allowed_buyer_kinds:
            why = f"SPHP rice is sold retail only, not to a {buyer.kind}"
            raise _sphp_refusal(line, "buyer_kind_not_allowed", why, buyer_kind=buyer.kind)
        if rule.unit_net_grams is None:
            why = "the product has no net weight, so the SPHP weight cap cannot be checked"
            raise _sphp_refusal(line, "unit_weight_unknown", why)
        sphp_grams += line.quantity * rule.unit_net_grams
        if sphp_grams > limit:
            why = f"SPHP rice is capped at {limit} g per order; this order asks for {sphp_grams} g"
            raise _sphp_refusal(
                line, "over_order_weight_limit", why, grams=sphp_grams, max_grams=limit
            )


def _sphp_refusal(
    line: RequestedLine, reason: str, why: str, **figures: int | str
) -> ProgrammeRestricted:
    return ProgrammeRestricted(
        f"line {line.line_no}: {why}",
        line_no=line.line_no,
        programme=SPHP_PROGRAMME,
        reason=reason,
        **figures,
    )


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

    stock: list[_Group]
    lots: list[_Group]
    allotments: list[_Allotment]
    by_listing: dict[int, _Offer]


class _Planner:
    """Mutable working state of one split: what each source has left, legs so far.

    Sources are only bucketed by product up front and ranked per product on first use,
    so cost follows the lines and their products' nearby sources, not the whole pool.
    Ids are keyed and compared by ``.int``: ``UUID`` hashing and comparison run in
    Python and dominated the profile.
    """

    def __init__(self, sources: Iterable[Source], buyer: Buyer, *, unbounded: int) -> None:
        self._buyer_id = buyer.organization_id.int
        self._buyer_segments = buyer.region_code.split(".")
        # The buyer's code cut after each segment, longest first: a source shares k
        # leading segments with it when its code (plus ".") starts with the k-segment cut.
        self._buyer_prefixes = [
            (".".join(self._buyer_segments[:k]) + ".", k)
            for k in range(len(self._buyer_segments), 0, -1)
        ]
        self._unbounded = unbounded
        self._sources_by_product: dict[int, list[Source]] = {}
        for source in sources:
            self._sources_by_product.setdefault(source.product_id.int, []).append(source)
        self._supply: dict[int, _ProductSupply] = {}
        self._remoteness_by_region: dict[str, int] = {}
        self.legs: list[PlannedLeg] = []
        self.shortfalls: list[Shortfall] = []

    def fill(self, line: RequestedLine, rule: ProductRule) -> None:
        supply = self._supply_of(line.product_id)
        if line.listing_id is not None:
            unfilled = self._fill_pinned(line, line.listing_id, supply)
        else:
            unfilled = self._take_offers(line, line.quantity, self._offers_of(supply, supply.stock))
            if unfilled and rule.bulog_supplied:
                unfilled = self._take_offers(line, unfilled, self._offers_of(supply, supply.lots))
            if unfilled:
                unfilled = self._take_allotments(line, unfilled, supply.allotments)
        if unfilled:
            self.shortfalls.append(
                Shortfall(line.line_no, line.product_id, line.quantity, unfilled)
            )

    def _fill_pinned(self, line: RequestedLine, listing_id: UUID, supply: _ProductSupply) -> int:
        for _ in self._offers_of(supply, supply.stock + supply.lots):
            pass  # make every offer of the product, so the pin shares its stock counter
        offer = supply.by_listing.get(listing_id.int)
        if offer is not None:
            return self._take_offers(line, line.quantity, iter([[offer]]))
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

    def _supply_of(self, product_id: UUID) -> _ProductSupply:
        supply = self._supply.get(product_id.int)
        if supply is None:
            supply = self._rank_supply(self._sources_by_product.get(product_id.int, []))
            self._supply[product_id.int] = supply
        return supply

    def _rank_supply(self, sources: list[Source]) -> _ProductSupply:
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
        usable = [a for a in allotments.values() if self._contract_covers_buyer(a.source)]
        usable.sort(
            key=lambda a: (a.source.unit_price, a.source.contract_id.int, a.source.allotment_id.int)
        )
        return _ProductSupply(
            stock=[_Group(stock[rank]) for rank in sorted(stock)],
            lots=[_Group(lots[rank]) for rank in sorted(lots)],
            allotments=usable,
            by_listing={},
        )

    def _offers_of(self, supply: _ProductSupply, groups: list[_Group]) -> Iterator[list[_Offer]]:
        for group in groups:
            if group.offers is None:
                offers = [self._offer(source) for source in group.sources if self._serves(source)]
                offers.sort(key=lambda offer: (offer.floor_price, offer.listing_key))
                supply.by_listing.update((offer.listing_key, offer) for offer in offers)
                group.offers = offers
            yield group.offers

    def _offer(self, source: StockSource | BulogLotSource) -> _Offer:
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
