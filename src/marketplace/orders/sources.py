"""What is on offer, as the split engine's sources: listings (stock, consignment, Bulog
lots) and procurement's trade-contract offers, each converted from its context's own
type (orders knows them; they don't know orders)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from marketplace.listings import SourceListing
from marketplace.listings.domain import SupplyMode
from marketplace.orders.domain import splitting
from marketplace.procurement import ContractOffer


def to_sources(
    listings: Sequence[SourceListing], bulog_branches: Mapping[uuid.UUID, uuid.UUID]
) -> list[splitting.Source]:
    """Split sources of the listings. A `bulog_lot` listing is a lot bought from its
    cooperative's Bulog branch (`procurement.LotPooling.branches_for`); one whose
    cooperative has no branch is left out."""
    sources: list[splitting.Source] = []
    for s in listings:
        if s.supply_mode is SupplyMode.BULOG_LOT:
            if s.seller_organization_id not in bulog_branches:
                continue
            sources.append(
                splitting.BulogLotSource(
                    listing_id=s.listing_id,
                    product_id=s.product_id,
                    seller_org_id=s.seller_organization_id,
                    bulog_org_id=bulog_branches[s.seller_organization_id],
                    region_code=s.region_code,
                    capacity=None,
                    min_order_quantity=s.min_order_quantity,
                    tiers=s.tiers,
                )
            )
        else:
            sources.append(
                splitting.StockSource(
                    listing_id=s.listing_id,
                    product_id=s.product_id,
                    seller_org_id=s.seller_organization_id,
                    owner_org_id=s.owner_organization_id,
                    owner_kind=s.owner_kind,
                    region_code=s.region_code,
                    available=s.available,
                    min_order_quantity=s.min_order_quantity,
                    tiers=s.tiers,
                )
            )
    return sources


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
