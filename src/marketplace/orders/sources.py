"""What is on offer, as the split engine's sources: listings (stock, consignment, Bulog
lots) and procurement's trade-contract offers, each converted from its context's own
type (orders knows them; they don't know orders)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from marketplace.listings import decoded_tiers
from marketplace.listings.domain import SupplyMode
from marketplace.orders.domain import splitting
from marketplace.orders.domain.candidates import Cut, Rank
from marketplace.procurement import ContractOffer

CANDIDATES_PER_PRODUCT = 4
"""Listings read per product for a placement (`StockService.candidates`): enough that a
line is nearly always filled before the cut (`domain.candidates`); the rest are read
only for a product whose plan reached it."""
RANKED_SEGMENTS = 4
"""Region code segments the candidates statement ranks by (province, regency, district,
village); a delivery code with more is ranked on all candidates, unlimited."""
_NEVER = "!"  # a prefix no region code (digits and dots) starts with
_BULOG_LOT = SupplyMode.BULOG_LOT.value


def within_prefixes(delivery_region_code: str) -> tuple[list[str], bool]:
    """The delivery region's first 1 … 4 segments, each with a trailing dot, as the
    engine compares them (`splitting._Planner._remoteness`), and whether they rank as
    the engine does (False for a code of more segments: read every candidate then)."""
    prefixes = splitting.region_prefixes(delivery_region_code)
    if len(prefixes) > RANKED_SEGMENTS:
        return [_NEVER] * RANKED_SEGMENTS, False
    return prefixes + [_NEVER] * (RANKED_SEGMENTS - len(prefixes)), True


class Candidates(msgspec.Struct, kw_only=True):
    """The candidate listings as split sources, with what placement needs beside them."""

    sources: list[splitting.Source]
    vat_registered: dict[uuid.UUID, bool]
    """Listing → whether the owner of its goods is VAT-registered."""
    lot_sellers: set[uuid.UUID]
    """Cooperatives selling Bulog lots among the candidates (their branches are read)."""
    unbranched_lots: set[uuid.UUID]
    """Products with Bulog lot candidates left out for want of a branch."""
    rank_of_listing: dict[uuid.UUID, Rank]
    cuts: dict[uuid.UUID, Cut]
    """Products with `per_product` candidates read: the last one read (see
    `domain.candidates`)."""


def candidate_sources(
    rows: Sequence[Any],
    product_ids: Sequence[uuid.UUID],
    bulog_branches: Mapping[uuid.UUID, uuid.UUID] | None,
    per_product: int | None,
) -> Candidates:
    """`StockService.candidates` rows as split sources, one Struct each. With
    `bulog_branches` None, lots are left out (their branches are not known yet: call
    again with them); a lot whose cooperative has no branch is always left out."""
    sources: list[splitting.Source] = []
    vat: dict[uuid.UUID, bool] = {}
    lot_sellers: set[uuid.UUID] = set()
    unbranched: set[uuid.UUID] = set()
    ranks: dict[uuid.UUID, Rank] = {}
    counts: dict[int, int] = {}
    last: dict[int, tuple[Rank, int, int]] = {}
    for (listing_id, product_no, seller_id, owner_id, owner_kind, owner_vat, region_code,
         available, moq, supply_mode, tiers, is_lot, remoteness, not_local, price,
         pinned) in rows:  # fmt: skip
        if listing_id in ranks:
            continue  # a pinned listing that was also among the best
        rank: Rank = (is_lot, remoteness, not_local)
        ranks[listing_id] = rank
        if not pinned:
            counts[product_no] = counts.get(product_no, 0) + 1
            key = (rank, price, listing_id.int)
            if product_no not in last or key > last[product_no]:
                last[product_no] = key
        product_id = product_ids[product_no - 1]
        vat[listing_id] = owner_vat
        if supply_mode == _BULOG_LOT:
            lot_sellers.add(seller_id)
            if bulog_branches is None:
                continue
            if seller_id not in bulog_branches:
                unbranched.add(product_id)
                continue
            sources.append(
                splitting.BulogLotSource(
                    listing_id=listing_id,
                    product_id=product_id,
                    seller_org_id=seller_id,
                    bulog_org_id=bulog_branches[seller_id],
                    region_code=region_code,
                    capacity=None,
                    min_order_quantity=moq,
                    tiers=decoded_tiers(tiers),
                )
            )
        else:
            sources.append(
                splitting.StockSource(
                    listing_id=listing_id,
                    product_id=product_id,
                    seller_org_id=seller_id,
                    owner_org_id=owner_id or seller_id,
                    owner_kind=owner_kind,
                    region_code=region_code,
                    available=max(0, available),
                    min_order_quantity=moq,
                    tiers=decoded_tiers(tiers),
                )
            )
    cuts = {}
    if per_product is not None:
        for product_no, count in counts.items():
            if count >= per_product:
                rank, price, _ = last[product_no]
                cuts[product_ids[product_no - 1]] = Cut(rank=rank, price_at_quantity=price)
    return Candidates(
        sources=sources,
        vat_registered=vat,
        lot_sellers=lot_sellers,
        unbranched_lots=unbranched,
        rank_of_listing=ranks,
        cuts=cuts,
    )


def to_contract_sources(offers: Sequence[ContractOffer]) -> list[splitting.Source]:
    """Split sources of procurement's trade-contract offers (after the listings')."""
    return [
        splitting.TradeContractSource(
            contract_id=o.contract_id,
            allotment_id=o.allotment_id,
            product_id=o.product_id,
            supplier_org_id=o.supplier_organization_id,
            counterparty_city_code=o.counterparty_city_code,
            remaining=o.remaining,
            unit_price=o.unit_price,
            levy_bps=o.levy_bps,
            supplier_region_code=o.supplier_region_code,
        )
        for o in offers
    ]
