"""Splitting on the best few candidates per product (`orders.domain.candidates`) gives
the plan of every candidate: placement's procedure, replayed here on the pure engine with
a reference of the candidates statement's order (`listings.stock_repository`)."""

from __future__ import annotations

from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.listings.domain.pricing import unit_price_for
from marketplace.orders.domain import LegKind, PlannedLeg, Shortfall, SplitPlan, splitting
from marketplace.orders.domain.candidates import Cut, Rank, products_to_split_on_all
from marketplace.orders.domain.splitting import (
    BulogLotSource,
    Buyer,
    RequestedLine,
    Source,
    StockSource,
    TradeContractSource,
)
from marketplace.orders.domain.splitting import (
    SplitPlan as Plan,
)
from marketplace.orders.sources import within_prefixes
from tests.unit.test_splitting import (
    RICE,
    Scenario,
    line,
    listing_sources,
    scenarios,
    split,
    stock,
    uid,
)


def statement_key(
    source: StockSource | BulogLotSource, buyer: Buyer, quantity: int
) -> tuple[Rank, int, int]:
    """The candidates statement's ORDER BY, as SQL computes it."""
    code = source.region_code + "."
    within, _ = within_prefixes(buyer.delivery_region_code)
    remoteness = next((4 - k for k in (4, 3, 2, 1) if code.startswith(within[k - 1])), 4)
    is_lot = isinstance(source, BulogLotSource)
    not_local = (
        not is_lot
        and isinstance(source, StockSource)
        and source.owner_kind != "umkm"
        and source.owner_org_id == source.seller_org_id
    )
    rank = (is_lot, remoteness, not_local)
    return rank, unit_price_for(source.tiers, quantity), source.listing_id.int


def own(source: StockSource | BulogLotSource, buyer: Buyer) -> bool:
    """What the statement leaves out: the buyer's own listings and goods."""
    owner = source.owner_org_id if isinstance(source, StockSource) else source.seller_org_id
    return buyer.organization_id in (source.seller_org_id, owner)


def placement_plan(lines: list[RequestedLine], sources: list[Source], buyer: Buyer, k: int) -> Plan:
    """What `OrderPlacement.plan` does: split on the cut candidates, again on every
    candidate of the products whose plan reached the cut, then with contracts if short."""
    listings = listing_sources(sources)
    contracts: list[Source] = [s for s in sources if isinstance(s, TradeContractSource)]
    asked: dict[UUID, int] = {}
    for requested in lines:
        asked[requested.product_id] = asked.get(requested.product_id, 0) + requested.quantity
    pins = {requested.listing_id for requested in lines if requested.listing_id is not None}
    kept: list[Source] = []
    ranks: dict[UUID, Rank] = {}
    cuts: dict[UUID, Cut] = {}
    for product in {s.product_id for s in listings}:
        quantity = asked.get(product, 1)
        ranked = sorted(
            (statement_key(s, buyer, quantity), s)
            for s in listings
            if s.product_id == product and not own(s, buyer)
        )
        best = ranked[:k]
        for key, source in best:
            ranks[source.listing_id] = key[0]
            kept.append(source)
        if len(best) >= k:
            (rank, price, _), _ = best[-1]
            cuts[product] = Cut(rank=rank, price_at_quantity=price)
        for source in listings:
            pinned_only = source.listing_id in pins and source.listing_id not in ranks
            if source.product_id == product and pinned_only:
                ranks[source.listing_id] = statement_key(source, buyer, 1)[0]
                kept.append(source)
    pinned_lines = {r.line_no for r in lines if r.listing_id is not None}
    plan = split(lines, kept, buyer)
    unsure = products_to_split_on_all(plan, cuts, ranks, pinned_lines)
    if unsure:
        kept = [s for s in kept if s.product_id not in unsure] + [
            s for s in listings if s.product_id in unsure
        ]
        plan = split(lines, kept, buyer)
    if plan.shortfalls:
        plan = split(lines, kept + contracts, buyer)
    return plan


def outcome(plan_of: object) -> object:
    try:
        return plan_of()  # type: ignore[operator]
    except splitting.ListingNotEligible as refused:
        return ("refused", type(refused).__name__, refused.extra)
    except splitting.PriceAboveCap as refused:
        return ("refused", type(refused).__name__, refused.extra)


@settings(deadline=None, max_examples=400)
@given(scenarios(), st.integers(1, 4))
def test_the_cut_candidates_give_the_plan_of_every_candidate(scenario: Scenario, k: int) -> None:
    lines, sources, buyer = scenario
    expected = outcome(lambda: split(lines, sources, buyer))
    assert outcome(lambda: placement_plan(lines, sources, buyer, k)) == expected


def test_a_line_filled_below_the_cut_price_is_sure() -> None:
    leg = PlannedLeg(
        line_no=1,
        kind=LegKind.STOCK,
        product_id=RICE,
        listing_id=uid(100),
        supplier_org_id=uid(10),
        owner_org_id=uid(10),
        quantity=5,
        unit_price=9_000,
        line_total=45_000,
    )
    plan = SplitPlan(legs=(leg,), shortfalls=())
    cut = Cut(rank=(False, 0, True), price_at_quantity=9_500)
    ranks = {uid(100): (False, 0, True)}
    assert products_to_split_on_all(plan, {RICE: cut}, ranks, set()) == set()
    # At the cut's price, a listing beyond the cut (same price, lower id) might win.
    same = Cut(rank=(False, 0, True), price_at_quantity=9_000)
    assert products_to_split_on_all(plan, {RICE: same}, ranks, set()) == {RICE}
    # From a group after the cut's, or short: split again on every candidate.
    earlier = Cut(rank=(False, 0, False), price_at_quantity=99_000)
    assert products_to_split_on_all(plan, {RICE: earlier}, ranks, set()) == {RICE}
    short = SplitPlan(legs=(), shortfalls=(Shortfall(1, RICE, 5, 5),))
    assert products_to_split_on_all(short, {RICE: cut}, ranks, set()) == {RICE}
    # A pinned line takes only its listing: its legs say nothing of the cut.
    assert products_to_split_on_all(plan, {RICE: earlier}, ranks, {1}) == set()


def test_a_cut_that_fills_nothing_is_split_on_every_candidate() -> None:
    """Two cheap listings nearby with little stock, a dear one far away: cut at one
    candidate, the line must not stop at the first."""
    buyer = Buyer(uid(1), "kitchen", "35.76.02.1001")
    sources: list[Source] = [
        stock(101, available=3, price=9_000),
        stock(102, available=3, price=9_100),
        stock(103, available=100, price=20_000, region="32.76.01.1001"),
    ]
    lines = [line(1, 10)]
    assert placement_plan(lines, sources, buyer, 1) == split(lines, sources, buyer)
    assert [leg.listing_id for leg in placement_plan(lines, sources, buyer, 1).legs] == [
        uid(101),
        uid(102),
        uid(103),
    ]
