from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.listings.domain import PriceCap, cap_for_region
from marketplace.listings.domain.pricing import PriceTier, unit_price_for
from marketplace.money import apply_basis_points
from marketplace.orders.domain import leg_vat_treatment
from marketplace.orders.domain.splitting import (
    DEFAULT_POLICY,
    BulogLotSource,
    Buyer,
    DuplicateLine,
    HeldBackAboveCap,
    InsufficientSupply,
    InvalidQuantity,
    LegKind,
    ListingNotEligible,
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
    asks_for_sphp,
    split_order,
)
from marketplace.tax import vat_for


def uid(n: int) -> UUID:
    return UUID(int=n)


# Mojokerto (35.76) buyer; Blitar (35.72) is the same province; Depok (32.76) is not.
VILLAGE = "35.76.02.1001"
DISTRICT = "35.76.02.1002"
CITY = "35.76.01.1003"
PROVINCE = "35.72.01.1001"
ELSEWHERE = "32.76.01.1001"

RICE, OIL, SPHP_RICE, SPHP_PREMIUM = uid(1_001), uid(1_002), uid(1_003), uid(1_004)
KITCHEN = Buyer(uid(1), "kitchen", VILLAGE)
STALL = Buyer(uid(2), "food_stall", VILLAGE)
COOP, COOP_B, BULOG, CONSIGNOR = uid(10), uid(11), uid(12), uid(13)
PRODUCTS = (
    ProductRule(RICE, bulog_supplied=True),
    ProductRule(OIL),
    ProductRule(SPHP_RICE, programme="sphp", unit_net_grams=5_000, bulog_supplied=True),
    ProductRule(SPHP_PREMIUM, programme="sphp", unit_net_grams=2_500),
)


def stock(
    listing: int,
    *,
    product: UUID = RICE,
    region: str = VILLAGE,
    available: int = 100,
    moq: int = 1,
    price: int = 10_000,
    tiers: tuple[PriceTier, ...] | None = None,
    seller: UUID = COOP,
    owner: UUID | None = None,
    owner_kind: str = "cooperative",
) -> StockSource:
    return StockSource(
        listing_id=uid(listing),
        product_id=product,
        seller_org_id=seller,
        owner_org_id=owner or seller,
        owner_kind=owner_kind,
        region_code=region,
        available=available,
        min_order_quantity=moq,
        tiers=tiers or (PriceTier(1, price),),
    )


def lot(
    listing: int,
    *,
    product: UUID = RICE,
    region: str = VILLAGE,
    capacity: int | None = None,
    moq: int = 1,
    price: int = 11_000,
    tiers: tuple[PriceTier, ...] | None = None,
    seller: UUID = COOP,
) -> BulogLotSource:
    tiers = tiers or (PriceTier(1, price),)
    return BulogLotSource(uid(listing), product, seller, BULOG, region, capacity, moq, tiers)


def contract(
    allotment: int,
    *,
    product: UUID = RICE,
    city: str = "35.76",
    remaining: int = 1_000,
    price: int = 12_000,
    levy_bps: int = 250,
    contract_no: int = 900,
    supplier: UUID = COOP_B,
    supplier_region: str = PROVINCE,
) -> TradeContractSource:
    return TradeContractSource(
        uid(contract_no),
        uid(allotment),
        product,
        supplier,
        city,
        remaining,
        price,
        levy_bps,
        supplier_region,
    )


def line(
    line_no: int, quantity: int, product: UUID = RICE, pin: int | None = None
) -> RequestedLine:
    return RequestedLine(line_no, product, quantity, None if pin is None else uid(pin))


def split(
    lines: list[RequestedLine],
    sources: Sequence[Source],
    buyer: Buyer = KITCHEN,
    policy: SplitPolicy = DEFAULT_POLICY,
) -> SplitPlan:
    return split_order(lines, sources, buyer, policy, products=PRODUCTS)


def takes(plan: SplitPlan) -> list[tuple[int, LegKind, UUID | None, int]]:
    return [
        (leg.line_no, leg.kind, leg.listing_id or leg.allotment_id, leg.quantity)
        for leg in plan.legs
    ]


# --- ranking ------------------------------------------------------------------------


def test_the_nearest_source_fills_the_line_even_when_dearer() -> None:
    sources: list[Source] = [
        stock(5, region=ELSEWHERE, price=8_000),
        stock(4, region=PROVINCE, price=8_500),
        stock(3, region=CITY, price=9_000),
        stock(2, region=DISTRICT, price=9_500),
        stock(1, region=VILLAGE, price=12_000),
    ]
    assert takes(split([line(1, 10)], sources)) == [(1, LegKind.STOCK, uid(1), 10)]


def test_proximity_cascades_village_district_city_province_anywhere() -> None:
    sources: list[Source] = [
        stock(1, region=ELSEWHERE, available=100),
        stock(2, region=PROVINCE, available=6),
        stock(3, region=CITY, available=5),
        stock(4, region=DISTRICT, available=4),
        stock(5, region=VILLAGE, available=3),
    ]
    plan = split([line(1, 20)], sources)
    assert [(leg.listing_id, leg.quantity) for leg in plan.legs] == [
        (uid(5), 3),
        (uid(4), 4),
        (uid(3), 5),
        (uid(2), 6),
        (uid(1), 2),
    ]
    assert plan.is_complete


def test_consignment_and_umkm_stock_come_before_cooperative_stock_at_equal_distance() -> None:
    sources: list[Source] = [
        stock(1, price=9_000, available=5),
        stock(2, price=11_000, available=5, owner=CONSIGNOR, owner_kind="umkm"),
        stock(3, price=12_000, available=5, seller=uid(14), owner_kind="umkm"),
    ]
    plan = split([line(1, 12)], sources)
    assert takes(plan) == [
        (1, LegKind.CONSIGNMENT, uid(2), 5),
        (1, LegKind.STOCK, uid(3), 5),
        (1, LegKind.STOCK, uid(1), 2),
    ]
    consigned = plan.legs[0]
    assert (consigned.supplier_org_id, consigned.owner_org_id) == (COOP, CONSIGNOR)


def test_consignment_does_not_beat_proximity() -> None:
    sources: list[Source] = [
        stock(1, region=DISTRICT, owner=CONSIGNOR, owner_kind="umkm"),
        stock(2, region=VILLAGE),
    ]
    assert takes(split([line(1, 10)], sources)) == [(1, LegKind.STOCK, uid(2), 10)]


def test_price_then_listing_id_break_ties_at_equal_distance() -> None:
    sources: list[Source] = [stock(3, price=9_000), stock(2, price=9_000), stock(1, price=9_500)]
    assert takes(split([line(1, 10)], sources)) == [(1, LegKind.STOCK, uid(2), 10)]


def test_price_is_compared_at_the_quantity_each_source_would_give() -> None:
    bulk = (PriceTier(1, 12_000), PriceTier(50, 9_000))
    flat = stock(1, price=10_000)
    # 60 from the bulk listing reaches its 9,000 tier and beats the flat 10,000.
    assert takes(split([line(1, 60)], [flat, stock(2, tiers=bulk)]))[0][2] == uid(2)
    # 10 from it would cost 12,000 each, so the flat listing wins.
    assert takes(split([line(1, 10)], [flat, stock(2, tiers=bulk)]))[0][2] == uid(1)
    # With only 20 on hand it can give 20 at 12,000: the flat listing wins the 60.
    plan = split([line(1, 60)], [flat, stock(2, tiers=bulk, available=20)])
    assert takes(plan) == [(1, LegKind.STOCK, uid(1), 60)]
    assert plan.legs[0].unit_price == 10_000


# --- minimum order quantities, shared stock -----------------------------------------


def test_a_source_is_skipped_when_the_line_is_below_its_moq() -> None:
    sources: list[Source] = [stock(1, moq=50), stock(2, region=DISTRICT)]
    assert takes(split([line(1, 20)], sources)) == [(1, LegKind.STOCK, uid(2), 20)]


def test_a_source_is_skipped_when_what_is_left_is_below_its_moq() -> None:
    sources: list[Source] = [
        stock(1, available=15),
        stock(2, region=DISTRICT, moq=10),
        stock(3, region=CITY),
    ]
    assert takes(split([line(1, 20)], sources)) == [
        (1, LegKind.STOCK, uid(1), 15),
        (1, LegKind.STOCK, uid(3), 5),
    ]


def test_a_source_with_less_than_its_own_moq_on_hand_gives_nothing() -> None:
    plan = split([line(1, 20)], [stock(1, available=5, moq=10)])
    assert plan.legs == ()
    assert plan.shortfalls == (Shortfall(1, RICE, 20, 20),)


def test_lines_of_the_same_product_share_stock_in_line_number_order() -> None:
    sources: list[Source] = [stock(1, available=100), stock(2, region=DISTRICT)]
    plan = split([line(2, 60), line(1, 60)], sources)
    assert takes(plan) == [
        (1, LegKind.STOCK, uid(1), 60),
        (2, LegKind.STOCK, uid(1), 40),
        (2, LegKind.STOCK, uid(2), 20),
    ]


def test_negative_availability_counts_as_none() -> None:
    plan = split([line(1, 5)], [stock(1, available=-3)])
    assert plan.shortfalls == (Shortfall(1, RICE, 5, 5),)


# --- pinned lines -------------------------------------------------------------------


def test_a_pinned_line_uses_only_its_listing() -> None:
    sources: list[Source] = [stock(1), stock(2, region=DISTRICT, available=30)]
    plan = split([line(1, 50, pin=2)], sources)
    assert takes(plan) == [(1, LegKind.STOCK, uid(2), 30)]
    assert plan.shortfalls == (Shortfall(1, RICE, 50, 20),)


def test_pinned_and_unpinned_lines_share_stock() -> None:
    sources: list[Source] = [stock(1), stock(2, region=DISTRICT)]
    plan = split([line(1, 80, pin=1), line(2, 50)], sources)
    assert takes(plan) == [
        (1, LegKind.STOCK, uid(1), 80),
        (2, LegKind.STOCK, uid(1), 20),
        (2, LegKind.STOCK, uid(2), 30),
    ]


def test_a_pinned_line_can_name_a_bulog_lot_listing() -> None:
    plan = split([line(1, 40, pin=7)], [stock(1), lot(7, capacity=100)])
    assert takes(plan) == [(1, LegKind.BULOG_LOT, uid(7), 40)]


def test_a_pinned_line_below_the_moq_or_on_a_missing_listing_is_short() -> None:
    plan = split([line(1, 5, pin=1), line(2, 7, pin=99)], [stock(1, moq=10)])
    assert plan.legs == ()
    assert plan.shortfalls == (Shortfall(1, RICE, 5, 5), Shortfall(2, RICE, 7, 7))


def test_a_pinned_listing_of_another_product_is_refused() -> None:
    with pytest.raises(ListingNotEligible) as raised:
        split([line(1, 5, pin=1)], [stock(1, product=OIL)])
    assert raised.value.code == "orders.listing_not_eligible"
    assert raised.value.extra == {
        "line_no": 1,
        "listing_id": str(uid(1)),
        "reason": "product_mismatch",
    }


# --- self-supply --------------------------------------------------------------------


def test_nobody_buys_from_itself_or_buys_back_its_own_consigned_goods() -> None:
    coop_buyer = Buyer(COOP, "cooperative", VILLAGE)
    sources: list[Source] = [stock(1), stock(2, seller=COOP_B, region=CITY)]
    assert takes(split([line(1, 5)], sources, coop_buyer))[0][2] == uid(2)

    consignor = Buyer(CONSIGNOR, "umkm", VILLAGE)
    sources = [stock(1, owner=CONSIGNOR, owner_kind="umkm"), stock(2, region=CITY)]
    assert takes(split([line(1, 5)], sources, consignor))[0][2] == uid(2)

    with pytest.raises(ListingNotEligible) as raised:
        split([line(1, 5, pin=1)], [stock(1)], coop_buyer)
    assert raised.value.extra["reason"] == "own_listing"


# --- Bulog lots and trade contracts -------------------------------------------------


def test_what_stock_cannot_fill_is_pooled_into_a_bulog_lot() -> None:
    plan = split([line(1, 100)], [lot(7), stock(1, available=30)])
    assert takes(plan) == [(1, LegKind.STOCK, uid(1), 30), (1, LegKind.BULOG_LOT, uid(7), 70)]
    pooled = plan.legs[1]
    assert (pooled.supplier_org_id, pooled.owner_org_id) == (COOP, BULOG)
    assert (pooled.unit_price, pooled.line_total) == (11_000, 770_000)


def test_bulog_lots_respect_capacity_moq_and_proximity() -> None:
    sources: list[Source] = [
        lot(7, capacity=20, region=DISTRICT),
        lot(8, capacity=500, moq=100, region=VILLAGE),
        lot(9, region=CITY),
    ]
    plan = split([line(1, 50)], sources)
    assert takes(plan) == [(1, LegKind.BULOG_LOT, uid(7), 20), (1, LegKind.BULOG_LOT, uid(9), 30)]


def test_products_not_supplied_by_bulog_are_never_pooled() -> None:
    plan = split([line(1, 10, OIL)], [lot(7, product=OIL)])
    assert plan.legs == ()
    assert plan.shortfalls == (Shortfall(1, OIL, 10, 10),)


def test_trade_contracts_take_the_rest_after_stock_and_lots() -> None:
    sources: list[Source] = [
        contract(31, price=12_500, contract_no=901),
        contract(32, price=12_000, remaining=15),
        lot(7, capacity=20),
        stock(1, available=10),
    ]
    plan = split([line(1, 60)], sources)
    assert takes(plan) == [
        (1, LegKind.STOCK, uid(1), 10),
        (1, LegKind.BULOG_LOT, uid(7), 20),
        (1, LegKind.TRADE_CONTRACT, uid(32), 15),
        (1, LegKind.TRADE_CONTRACT, uid(31), 15),
    ]
    call_off = plan.legs[2]
    assert (call_off.contract_id, call_off.supplier_org_id, call_off.listing_id) == (
        uid(900),
        COOP_B,
        None,
    )
    assert (call_off.line_total, call_off.levy_amount) == (180_000, 4_500)
    assert plan.levy_total == 4_500 + apply_basis_points(15 * 12_500, 250)


@pytest.mark.parametrize(
    ("city", "served"),
    [("35.76", True), ("32.76", False), ("35.72", False), ("35.7", False)],  # 35.7: not 35.76
)
def test_trade_contracts_serve_only_their_counterparty_city(city: str, served: bool) -> None:
    plan = split([line(1, 10, OIL)], [contract(31, product=OIL, city=city)])
    assert plan.is_complete is served


# --- SPHP ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["kitchen", "cooperative", "government", "bulog", "bumn", "trade_center"]
)
def test_sphp_rice_is_never_sold_to_kitchens_or_wholesale_buyers(kind: str) -> None:
    buyer = Buyer(uid(3), kind, VILLAGE)
    with pytest.raises(ProgrammeRestricted) as raised:
        split([line(1, 5), line(2, 1, SPHP_RICE)], [stock(1, product=SPHP_RICE)], buyer)
    error = raised.value
    assert error.code == "orders.programme_restricted"
    assert error.status == 422
    assert error.extra["line_no"] == 2
    assert error.extra["reason"] == "buyer_kind_not_allowed"
    assert error.extra["buyer_kind"] == kind
    assert error.extra["allowed_buyer_kinds"] == ["food_stall", "umkm"]


def test_a_cooperative_is_told_it_gets_sphp_through_its_bulog_lots() -> None:
    buyer = Buyer(uid(3), "cooperative", VILLAGE)
    with pytest.raises(ProgrammeRestricted, match="through Bulog lots"):
        split([line(1, 1, SPHP_RICE)], [stock(1, product=SPHP_RICE)], buyer)


@pytest.mark.parametrize("kind", ["food_stall", "umkm"])
def test_sphp_rice_up_to_the_daily_limit_is_sold_to_consumers(kind: str) -> None:
    buyer = Buyer(uid(3), kind, VILLAGE)
    plan = split([line(1, 5, SPHP_RICE)], [stock(1, product=SPHP_RICE)], buyer)  # 25 kg
    assert takes(plan) == [(1, LegKind.STOCK, uid(1), 5)]


def test_the_sphp_daily_limit_sums_every_line_and_what_was_bought_today() -> None:
    lines = [line(1, 2, SPHP_RICE), line(2, 3, SPHP_PREMIUM)]  # 10 kg + 7.5 kg
    sources = [stock(1, product=SPHP_RICE), stock(2, product=SPHP_PREMIUM)]
    assert split_order(lines, sources, STALL, products=PRODUCTS, sphp_grams_bought_today=7_500)
    with pytest.raises(ProgrammeRestricted) as raised:
        split_order(lines, sources, STALL, products=PRODUCTS, sphp_grams_bought_today=7_501)
    assert raised.value.extra == {
        "line_no": 2,
        "programme": "sphp",
        "reason": "over_daily_weight_limit",
        "max_grams": 25_000,
        "bought_today_grams": 7_501,
        "requested_grams": 17_500,
        "grams": 25_001,
    }
    with pytest.raises(ProgrammeRestricted) as raised:  # the first line already crosses it
        split_order(lines, sources, STALL, products=PRODUCTS, sphp_grams_bought_today=20_000)
    assert (raised.value.extra["line_no"], raised.value.extra["requested_grams"]) == (1, 17_500)


def test_sphp_without_a_net_weight_is_refused_and_policy_is_configurable() -> None:
    products = [ProductRule(SPHP_RICE, programme="sphp")]
    with pytest.raises(ProgrammeRestricted, match="net weight"):
        split_order([line(1, 1, SPHP_RICE)], [], STALL, products=products)
    lenient = SplitPolicy(frozenset({"kitchen"}), sphp_max_grams_per_day=50_000)
    plan = split([line(1, 10, SPHP_RICE)], [stock(1, product=SPHP_RICE)], KITCHEN, lenient)
    assert plan.is_complete
    strict = SplitPolicy(sphp_max_grams_per_day=10_000)  # the 2025 rule: 2 packs, 10 kg
    with pytest.raises(ProgrammeRestricted, match=r"10\.000 g"):
        split([line(1, 3, SPHP_RICE)], [stock(1, product=SPHP_RICE)], STALL, strict)


def test_asks_for_sphp_sees_only_lines_of_sphp_products() -> None:
    assert asks_for_sphp([line(1, 1), line(2, 1, SPHP_PREMIUM)], PRODUCTS)
    assert not asks_for_sphp([line(1, 1), line(2, 1, OIL)], PRODUCTS)


# --- delivery region ----------------------------------------------------------------

MOJOKERTO_VILLAGE, BLITAR_VILLAGE = "35.76.02.1001", "35.72.03.1004"


def test_nearest_is_measured_from_the_delivery_region_not_the_buyers_address() -> None:
    """A kitchen registered in Mojokerto orders for a Blitar village: Blitar stock wins,
    however cheaper Mojokerto's is."""
    sources = [
        stock(1, region=MOJOKERTO_VILLAGE, price=9_000),
        stock(2, region="35.72.03.1009", price=11_000),
    ]
    to_blitar = Buyer(uid(3), "kitchen", BLITAR_VILLAGE)
    assert takes(split([line(1, 10)], sources, to_blitar)) == [(1, LegKind.STOCK, uid(2), 10)]
    to_mojokerto = Buyer(uid(3), "kitchen", MOJOKERTO_VILLAGE)
    assert takes(split([line(1, 10)], sources, to_mojokerto)) == [(1, LegKind.STOCK, uid(1), 10)]


def test_a_trade_contract_serves_the_city_the_order_is_delivered_to() -> None:
    depok_contract = [contract(31, product=OIL, city="32.76")]
    to_depok = Buyer(uid(3), "kitchen", "32.76.01.1001")
    assert split([line(1, 10, OIL)], depok_contract, to_depok).is_complete
    assert not split([line(1, 10, OIL)], depok_contract, KITCHEN).is_complete


# --- zone price caps (HET) at the moment of sale ------------------------------------

CAPPED_RICE = uid(1_005)
CAPS = (PriceCap("35", 70_000), PriceCap("35.76", 68_000))


def capped_split(
    lines: list[RequestedLine], sources: Sequence[Source], caps: tuple[PriceCap, ...] = CAPS
) -> SplitPlan:
    products = [*PRODUCTS, ProductRule(CAPPED_RICE, bulog_supplied=True, price_caps=caps)]
    return split_order(lines, sources, KITCHEN, products=products)


def test_a_listing_above_its_zones_cap_is_not_sold_and_another_fills() -> None:
    """The nearest listing was priced before the city's cap fell to Rp68,000: the line
    goes to the next one within the cap (the province's Rp70,000 applies in Blitar)."""
    sources = [
        stock(1, product=CAPPED_RICE, price=72_000),
        stock(2, product=CAPPED_RICE, region=DISTRICT, price=68_000),
        stock(3, product=CAPPED_RICE, region=PROVINCE, price=69_000),
    ]
    plan = capped_split([line(1, 150, CAPPED_RICE)], sources)
    assert takes(plan) == [(1, LegKind.STOCK, uid(2), 100), (1, LegKind.STOCK, uid(3), 50)]
    assert max(leg.unit_price for leg in plan.legs) <= 70_000


def test_a_short_line_names_the_sources_held_back_above_the_cap() -> None:
    sources: list[Source] = [
        stock(1, product=CAPPED_RICE, price=72_000, available=40),
        lot(2, product=CAPPED_RICE, price=71_000),
        contract(3, product=CAPPED_RICE, price=75_000, supplier_region=VILLAGE),
        stock(4, product=CAPPED_RICE, region=DISTRICT, price=60_000, available=10),
    ]
    plan = capped_split([line(1, 30, CAPPED_RICE)], sources)
    assert takes(plan) == [(1, LegKind.STOCK, uid(4), 10)]
    [short] = plan.shortfalls
    assert (short.requested, short.unfilled) == (30, 20)
    assert short.held_back_above_cap == (
        HeldBackAboveCap(listing_id=uid(1), lowest_unit_price=72_000, cap=68_000,
                         region_prefix="35.76"),
        HeldBackAboveCap(listing_id=uid(2), lowest_unit_price=71_000, cap=68_000,
                         region_prefix="35.76"),
        HeldBackAboveCap(contract_id=uid(900), allotment_id=uid(3), lowest_unit_price=75_000,
                         cap=68_000, region_prefix="35.76"),
    )  # fmt: skip
    with pytest.raises(InsufficientSupply, match="3 offer"):
        plan.require_complete()


def test_a_trade_contract_above_its_suppliers_cap_is_not_called_off() -> None:
    """The cap of the supplying cooperative's zone applies, as a listing's seller's does."""
    blitar = contract(5, product=CAPPED_RICE, price=69_500, contract_no=901)
    mojokerto = contract(6, product=CAPPED_RICE, price=69_000, contract_no=902,
                         supplier_region=CITY)  # fmt: skip
    plan = capped_split([line(1, 10, CAPPED_RICE)], [blitar, mojokerto], caps=CAPS[:1])
    assert takes(plan) == [(1, LegKind.TRADE_CONTRACT, uid(6), 10)]  # both within 70,000
    plan = capped_split([line(1, 10, CAPPED_RICE)], [blitar, mojokerto])
    assert takes(plan) == [(1, LegKind.TRADE_CONTRACT, uid(5), 10)]  # Mojokerto's is 68,000


def test_a_listing_sells_only_at_the_quantities_whose_tier_is_within_the_cap() -> None:
    tiers = (PriceTier(1, 72_000), PriceTier(20, 67_000))
    sources = [stock(1, product=CAPPED_RICE, tiers=tiers), stock(2, product=CAPPED_RICE,
               region=PROVINCE, price=69_500)]  # fmt: skip
    small = capped_split([line(1, 10, CAPPED_RICE)], sources)
    assert takes(small) == [(1, LegKind.STOCK, uid(2), 10)]
    large = capped_split([line(1, 25, CAPPED_RICE)], sources)
    assert [(leg.listing_id, leg.unit_price) for leg in large.legs] == [(uid(1), 67_000)]


def test_a_line_pinned_to_a_listing_above_the_cap_is_refused_with_the_figures() -> None:
    tiers = (PriceTier(1, 72_000), PriceTier(20, 67_000))
    sources = [stock(1, product=CAPPED_RICE, price=72_000), stock(2, product=CAPPED_RICE,
               tiers=tiers)]  # fmt: skip
    with pytest.raises(PriceAboveCap) as raised:
        capped_split([line(1, 5, CAPPED_RICE, pin=1)], sources)
    assert raised.value.code == "orders.price_above_cap"
    assert raised.value.extra == {
        "line_no": 1,
        "listing_id": str(uid(1)),
        "unit_price": 72_000,
        "cap": 68_000,
    }
    with pytest.raises(PriceAboveCap) as raised:  # its small-quantity tier is above the cap
        capped_split([line(1, 5, CAPPED_RICE, pin=2)], sources)
    assert raised.value.extra["unit_price"] == 72_000
    plan = capped_split([line(1, 20, CAPPED_RICE, pin=2)], sources)
    assert [(leg.listing_id, leg.unit_price) for leg in plan.legs] == [(uid(2), 67_000)]


# --- invalid input, shortfalls, plan helpers ----------------------------------------


@pytest.mark.parametrize("quantity", [0, -5])
def test_non_positive_quantities_are_refused(quantity: int) -> None:
    with pytest.raises(InvalidQuantity) as raised:
        split([line(1, 5), line(2, quantity)], [stock(1)])
    assert raised.value.code == "orders.invalid_quantity"
    assert raised.value.extra == {"line_no": 2, "quantity": quantity}


def test_duplicate_line_numbers_unknown_products_and_sources_are_refused() -> None:
    with pytest.raises(DuplicateLine):
        split([line(1, 5), line(1, 6)], [stock(1)])
    with pytest.raises(ValueError, match="no product rule"):
        split([line(1, 5, uid(4_040))], [])
    with pytest.raises(ValueError, match="given twice"):
        split([line(1, 5)], [stock(1), stock(1, region=CITY)])


def test_shortfalls_name_the_line_and_what_is_missing() -> None:
    plan = split(
        [line(1, 50), line(2, 10, OIL), line(3, 4, OIL)],
        [stock(1, available=30), stock(2, product=OIL, available=12)],
    )
    assert plan.shortfalls == (Shortfall(1, RICE, 50, 20), Shortfall(3, OIL, 4, 2))
    assert not plan.is_complete
    with pytest.raises(InsufficientSupply) as raised:
        plan.require_complete()
    assert raised.value.code == "orders.insufficient_supply"
    assert raised.value.extra["shortfalls"] == [
        {"line_no": 1, "product_id": str(RICE), "requested": 50, "unfilled": 20},
        {"line_no": 3, "product_id": str(OIL), "requested": 4, "unfilled": 2},
    ]


def test_plan_totals_and_per_line_view() -> None:
    plan = split([line(1, 3), line(2, 2, OIL)], [stock(1), stock(2, product=OIL, price=15_000)])
    assert plan.require_complete() is plan
    assert plan.subtotal == 3 * 10_000 + 2 * 15_000
    assert plan.levy_total == 0
    assert [leg.listing_id for leg in plan.legs_for_line(2)] == [uid(2)]


def test_the_order_sources_are_given_in_does_not_matter() -> None:
    regions = [VILLAGE, DISTRICT, CITY, PROVINCE, ELSEWHERE] * 3
    sources: list[Source] = [lot(70, capacity=9), contract(80, remaining=5), contract(81)]
    for n, region in enumerate(regions, start=1):
        sources.append(stock(n, region=region, available=7, price=9_000 + n * 10))
    lines = [line(1, 40), line(2, 30), line(3, 25, pin=4)]
    expected = split(lines, sources)
    for seed in range(5):
        shuffled = sources[:]
        random.Random(seed).shuffle(shuffled)
        assert split(lines[::-1], shuffled) == expected


# --- properties ---------------------------------------------------------------------

REGIONS = [VILLAGE, DISTRICT, CITY, PROVINCE, ELSEWHERE, "35.76.02"]
ORGS = [COOP, COOP_B, CONSIGNOR, uid(14), KITCHEN.organization_id]
ListingSource = StockSource | BulogLotSource
Scenario = tuple[list[RequestedLine], list[Source], Buyer]


@st.composite
def price_tables(draw: st.DrawFn) -> tuple[PriceTier, ...]:
    minimums = [1, *sorted(draw(st.sets(st.integers(2, 150), max_size=3)))]
    prices = sorted(
        draw(st.lists(st.integers(1, 20_000), min_size=len(minimums), max_size=len(minimums))),
        reverse=True,
    )
    return tuple(PriceTier(m, p) for m, p in zip(minimums, prices, strict=True))


def any_source(n: int) -> st.SearchStrategy[Source]:
    """Listing or allotment number ``n`` of any kind, with ids, places and sizes that clash."""
    org = st.sampled_from(ORGS)
    listing = {
        "product": st.sampled_from([RICE, OIL]),
        "region": st.sampled_from(REGIONS),
        "moq": st.integers(0, 20),
        "tiers": price_tables(),
        "seller": org,
    }
    owner_kind = st.sampled_from(["umkm", "cooperative"])
    return st.one_of(
        st.builds(
            stock,
            st.just(n),
            available=st.integers(-5, 200),
            owner=st.none() | org,
            owner_kind=owner_kind,
            **listing,
        ),
        st.builds(lot, st.just(n), capacity=st.none() | st.integers(0, 200), **listing),
        st.builds(
            contract,
            st.just(n),
            product=st.sampled_from([RICE, OIL]),
            city=st.sampled_from(["35.76", "32.76", "35.72"]),
            remaining=st.integers(-5, 200),
            price=st.integers(1, 20_000),
            levy_bps=st.integers(0, 1_000),
            contract_no=st.integers(1, 3),
            supplier=org,
            supplier_region=st.sampled_from(REGIONS),
        ),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    buyer = Buyer(draw(st.sampled_from(ORGS)), "kitchen", draw(st.sampled_from(REGIONS)))
    numbers = draw(st.lists(st.integers(1, 10**6), unique=True, max_size=25))
    sources = [draw(any_source(n)) for n in numbers]
    lines = []
    for line_no in draw(st.lists(st.integers(1, 50), unique=True, min_size=1, max_size=8)):
        product = draw(st.sampled_from([RICE, OIL]))
        pinnable = [
            s.listing_id
            for s in listing_sources(sources)
            if s.product_id == product and serves(s, buyer)
        ]
        pin = draw(st.none() | st.sampled_from([*pinnable, uid(0)]))  # uid(0) is never listed
        lines.append(RequestedLine(line_no, product, draw(st.integers(1, 300)), pin))
    return lines, sources, buyer


def listing_sources(sources: list[Source]) -> list[ListingSource]:
    return [s for s in sources if not isinstance(s, TradeContractSource)]


def owner_of(source: ListingSource) -> UUID:
    return source.bulog_org_id if isinstance(source, BulogLotSource) else source.owner_org_id


def serves(source: ListingSource, buyer: Buyer) -> bool:
    return buyer.organization_id not in (source.seller_org_id, owner_of(source))


def covers(contract: TradeContractSource, buyer: Buyer) -> bool:
    city = contract.counterparty_city_code.split(".")
    in_city = buyer.delivery_region_code.split(".")[: len(city)] == city
    return in_city and contract.supplier_org_id != buyer.organization_id


def capacity_of(source: Source) -> int | None:
    if isinstance(source, StockSource):
        return max(source.available, 0)
    if isinstance(source, BulogLotSource):
        return None if source.capacity is None else max(source.capacity, 0)
    return max(source.remaining, 0)


def source_id(source: Source) -> UUID:
    return source.allotment_id if isinstance(source, TradeContractSource) else source.listing_id


def distance_rank(source: StockSource, buyer: Buyer) -> tuple[int, int]:
    ours, theirs = buyer.delivery_region_code.split("."), source.region_code.split(".")
    shared = 0
    while shared < min(len(ours), len(theirs)) and ours[shared] == theirs[shared]:
        shared += 1
    local = source.owner_org_id != source.seller_org_id or source.owner_kind == "umkm"
    return len(ours) - shared, 0 if local else 1


def taken_from(plan: SplitPlan) -> Counter[UUID]:
    taken: Counter[UUID] = Counter()
    for leg in plan.legs:
        key = leg.allotment_id if leg.kind is LegKind.TRADE_CONTRACT else leg.listing_id
        assert key is not None
        taken[key] += leg.quantity
    return taken


def assert_every_unit_lands_once(plan: SplitPlan, lines: list[RequestedLine]) -> None:
    placed = Counter({line.line_no: 0 for line in lines})
    for leg in plan.legs:
        placed[leg.line_no] += leg.quantity
    for shortfall in plan.shortfalls:
        assert shortfall.unfilled > 0
        placed[shortfall.line_no] += shortfall.unfilled
    assert placed == {line.line_no: line.quantity for line in lines}
    short_lines = {shortfall.line_no for shortfall in plan.shortfalls}
    assert [(s.line_no, s.product_id, s.requested) for s in plan.shortfalls] == [
        (line.line_no, line.product_id, line.quantity)
        for line in sorted(lines, key=lambda line: line.line_no)
        if line.line_no in short_lines
    ]


def assert_no_source_overdrawn(plan: SplitPlan, sources: list[Source]) -> None:
    by_id = {source_id(source): source for source in sources}
    for key, quantity in taken_from(plan).items():
        capacity = capacity_of(by_id[key])
        assert capacity is None or quantity <= capacity


def assert_legs_priced_and_eligible(scenario: Scenario, plan: SplitPlan) -> None:
    lines, sources, buyer = scenario
    by_id = {source_id(source): source for source in sources}
    by_line = {line.line_no: line for line in lines}
    rules = {rule.product_id: rule for rule in PRODUCTS}
    for leg in plan.legs:
        requested = by_line[leg.line_no]
        assert leg.quantity > 0
        assert leg.product_id == requested.product_id
        assert leg.line_total == leg.quantity * leg.unit_price
        assert buyer.organization_id not in (leg.supplier_org_id, leg.owner_org_id)
        key = leg.allotment_id or leg.listing_id
        assert key is not None
        source = by_id[key]
        assert source.product_id == leg.product_id
        if isinstance(source, TradeContractSource):
            assert leg.kind is LegKind.TRADE_CONTRACT
            assert requested.listing_id is None
            assert covers(source, buyer)
            assert (leg.contract_id, leg.unit_price) == (source.contract_id, source.unit_price)
            assert leg.levy_amount == apply_basis_points(leg.line_total, source.levy_bps)
            continue
        assert leg.levy_amount == 0
        assert requested.listing_id in (None, leg.listing_id)
        assert leg.unit_price == unit_price_for(source.tiers, leg.quantity)
        assert leg.quantity >= source.min_order_quantity
        assert (leg.supplier_org_id, leg.owner_org_id) == (source.seller_org_id, owner_of(source))
        if isinstance(source, BulogLotSource):
            assert leg.kind is LegKind.BULOG_LOT
            assert rules[leg.product_id].bulog_supplied or requested.listing_id is not None
        else:
            consigned = source.owner_org_id != source.seller_org_id
            assert leg.kind is (LegKind.CONSIGNMENT if consigned else LegKind.STOCK)
    assert plan.subtotal == sum(leg.line_total for leg in plan.legs)
    assert plan.levy_total == sum(leg.levy_amount for leg in plan.legs)


def assert_short_only_when_supply_is_spent(scenario: Scenario, plan: SplitPlan) -> None:
    lines, sources, buyer = scenario
    taken = taken_from(plan)
    pinned = {line.line_no for line in lines if line.listing_id is not None}
    rules = {rule.product_id: rule for rule in PRODUCTS}
    for shortfall in plan.shortfalls:
        if shortfall.line_no in pinned:
            continue
        for source in sources:
            if source.product_id != shortfall.product_id:
                continue
            capacity = capacity_of(source)
            if isinstance(source, TradeContractSource):
                if covers(source, buyer):
                    assert capacity == taken[source.allotment_id]
                continue
            if not serves(source, buyer):
                continue
            if isinstance(source, BulogLotSource) and not rules[source.product_id].bulog_supplied:
                continue
            # What the source had left was below its MOQ, or what the line still needed was.
            minimum = max(source.min_order_quantity, 1)
            left = None if capacity is None else capacity - taken[source.listing_id]
            assert (left is not None and left < minimum) or shortfall.unfilled < minimum


def assert_near_to_far_then_lots_then_contracts(scenario: Scenario, plan: SplitPlan) -> None:
    lines, sources, buyer = scenario
    stock_sources = {s.listing_id: s for s in sources if isinstance(s, StockSource)}
    stage = {LegKind.STOCK: 0, LegKind.CONSIGNMENT: 0, LegKind.BULOG_LOT: 1}
    for line in lines:
        legs = plan.legs_for_line(line.line_no)
        stages = [stage.get(leg.kind, 2) for leg in legs]
        assert stages == sorted(stages)
        ranks = [
            distance_rank(stock_sources[leg.listing_id], buyer)
            for leg in legs
            if leg.listing_id in stock_sources
        ]
        assert ranks == sorted(ranks)


@settings(deadline=None, max_examples=300)
@given(scenarios())
def test_split_invariants_hold_for_any_order_and_supply(scenario: Scenario) -> None:
    plan = split(*scenario)
    assert_every_unit_lands_once(plan, scenario[0])
    assert_no_source_overdrawn(plan, scenario[1])
    assert_legs_priced_and_eligible(scenario, plan)
    assert_short_only_when_supply_is_spent(scenario, plan)
    assert_near_to_far_then_lots_then_contracts(scenario, plan)


@settings(deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_same_input_same_plan_whatever_the_input_order(
    scenario: Scenario, rnd: random.Random
) -> None:
    lines, sources, buyer = scenario
    plan = split(lines, sources, buyer)
    assert split(lines, sources, buyer) == plan
    shuffled_lines, shuffled_sources = lines[:], sources[:]
    rnd.shuffle(shuffled_lines)
    rnd.shuffle(shuffled_sources)
    assert split(shuffled_lines, shuffled_sources, buyer) == plan


@settings(deadline=None, max_examples=300)
@given(scenarios())
def test_contracts_never_change_a_plan_that_listings_complete(scenario: Scenario) -> None:
    """Placement reads trade contracts only when listings leave something unfilled: a
    complete plan from listings alone must be the plan with every source."""
    lines, sources, buyer = scenario
    without_contracts = split(lines, listing_sources(sources), buyer)
    if without_contracts.is_complete:
        assert split(lines, sources, buyer) == without_contracts


def cap_tables() -> st.SearchStrategy[tuple[PriceCap, ...]]:
    """Caps on a few region prefixes (province, city, district), prices that bind some."""
    prefix = st.sampled_from(["35", "35.76", "35.76.02", "32", "35.72"])
    return st.lists(
        st.builds(PriceCap, prefix, st.integers(1, 20_000)),
        max_size=3,
        unique_by=lambda c: c.region_prefix,
    ).map(tuple)


def ceiling_of(source: Source, caps: tuple[PriceCap, ...]) -> int | None:
    region = (
        source.supplier_region_code
        if isinstance(source, TradeContractSource)
        else source.region_code
    )
    cap = cap_for_region(caps, region)
    return None if cap is None else cap.max_unit_price


def smallest_take_within(source: ListingSource, ceiling: int | None) -> int | None:
    """The least quantity the source may sell under the ceiling (None: no quantity)."""
    minimum = max(source.min_order_quantity, 1)
    if ceiling is None:
        return minimum
    within = [tier.min_quantity for tier in source.tiers if tier.unit_price <= ceiling]
    return max(minimum, within[0]) if within else None


@settings(deadline=None, max_examples=300)
@given(scenarios(), cap_tables(), cap_tables())
def test_no_unit_is_sold_above_the_cap_of_its_sellers_zone(
    scenario: Scenario, rice_caps: tuple[PriceCap, ...], oil_caps: tuple[PriceCap, ...]
) -> None:
    lines, sources, buyer = scenario
    caps = {RICE: rice_caps, OIL: oil_caps}
    products = [
        ProductRule(RICE, bulog_supplied=True, price_caps=rice_caps),
        ProductRule(OIL, price_caps=oil_caps),
    ]
    refusal: PriceAboveCap | None = None
    try:
        plan = split_order(lines, sources, buyer, products=products)
    except PriceAboveCap as refused:
        refusal = refused
    if refusal is not None:  # only for a pinned line, only at a price above the cap
        pinned = {line.line_no for line in lines if line.listing_id is not None}
        assert refusal.extra["line_no"] in pinned
        assert refusal.extra["unit_price"] > refusal.extra["cap"]
        return
    by_id = {source_id(source): source for source in sources}
    assert_every_unit_lands_once(plan, lines)
    assert_no_source_overdrawn(plan, sources)
    for leg in plan.legs:
        key = leg.allotment_id or leg.listing_id
        assert key is not None
        ceiling = ceiling_of(by_id[key], caps[leg.product_id])
        assert ceiling is None or leg.unit_price <= ceiling
    # Short only when what is left within the caps is spent (as without caps, for MOQs).
    taken = taken_from(plan)
    pinned_lines = {line.line_no for line in lines if line.listing_id is not None}
    for shortfall in plan.shortfalls:
        if shortfall.line_no in pinned_lines:
            continue
        for source in sources:
            if source.product_id != shortfall.product_id:
                continue
            ceiling = ceiling_of(source, caps[source.product_id])
            capacity = capacity_of(source)
            if isinstance(source, TradeContractSource):
                if covers(source, buyer) and (ceiling is None or source.unit_price <= ceiling):
                    assert capacity == taken[source.allotment_id]
                continue
            if not serves(source, buyer) or (
                isinstance(source, BulogLotSource) and source.product_id != RICE
            ):
                continue
            minimum = smallest_take_within(source, ceiling)
            if minimum is None:
                continue  # held back: every price is above the cap
            left = None if capacity is None else capacity - taken[source.listing_id]
            assert (left is not None and left < minimum) or shortfall.unfilled < minimum
        # What a short line reports held back: sources of its product whose every price
        # is above their cap, with the figures, and never one that sold.
        for entry in shortfall.held_back_above_cap:
            key = entry.allotment_id or entry.listing_id
            assert key is not None
            assert key not in taken
            held = by_id[key]
            lowest = (
                held.unit_price
                if isinstance(held, TradeContractSource)
                else min(tier.unit_price for tier in held.tiers)
            )
            assert held.product_id == shortfall.product_id
            assert (entry.lowest_unit_price, entry.cap) == (
                lowest,
                ceiling_of(held, caps[held.product_id]),
            )
            assert lowest > entry.cap


@settings(deadline=None)
@given(scenarios(), st.integers(20_000, 10**6))
def test_caps_no_price_reaches_change_nothing(scenario: Scenario, ceiling: int) -> None:
    """Every price drawn is at most Rp20,000: caps at or above that bind nothing."""
    lines, sources, buyer = scenario
    loose = [
        ProductRule(RICE, bulog_supplied=True, price_caps=(PriceCap("35", ceiling),)),
        ProductRule(OIL, price_caps=(PriceCap("3", ceiling), PriceCap("32.76", 20_000))),
    ]
    assert split_order(lines, sources, buyer, products=loose) == split(lines, sources, buyer)


@pytest.mark.parametrize(
    ("kind", "product", "registered", "expected"),
    [
        (LegKind.CONSIGNMENT, "standard", False, "exempt"),
        (LegKind.CONSIGNMENT, "standard", True, "standard"),
        (LegKind.CONSIGNMENT, "exempt", True, "exempt"),
        (LegKind.STOCK, "standard", False, "standard"),
        (LegKind.BULOG_LOT, "standard", False, "standard"),
        (LegKind.TRADE_CONTRACT, "exempt", False, "exempt"),
    ],
)
def test_a_consignment_leg_charges_vat_only_when_its_consignor_is_registered(
    kind: LegKind, product: str, registered: bool, expected: str
) -> None:
    treatment = leg_vat_treatment(kind, product, owner_vat_registered=registered)
    assert treatment == expected
    assert vat_for(100_000, treatment) == (11_000 if expected == "standard" else 0)
