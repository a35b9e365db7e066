"""Splitting on the few best candidates per product, and knowing when that was enough.

Placement reads, per product, only the best `k` listings in the split engine's own order
of preference (listings before Bulog lots, nearer before farther, local before others),
then by the unit price at the whole quantity the order asks of the product (Q), then the
lowest id, plus the listings lines are pinned to. A product whose candidates filled the
query's `k` may have more beyond the cut; all of those rank after the last one read (the
cut), in that same order.

The plan made on the cut candidates is the plan every candidate would have given when,
for each such product, every leg of its unpinned lines came from a group of sources
ranked before the cut's group, or from the cut's group at a price below the cut's price
at Q: the engine takes a line from each group in turn, and in a group the cheapest price
for the take (the lowest id breaking ties); every listing beyond the cut is in the cut's
group or a later one, and no take from it costs less than its price at Q (no take
exceeds Q, and prices never rise with quantity), which is not below the cut's. Any
other outcome — a leg at or beyond the cut, a trade-contract leg or a shortfall (what
lies beyond the cut might have filled it) — sends the product back to be split on all
its candidates. Products never share a listing, so the others' legs
stand.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from uuid import UUID

import msgspec

from marketplace.orders.domain import LegKind, SplitPlan

Rank = tuple[bool, int, bool]
"""A listing's group in the engine's order: (is a Bulog lot, remoteness, not local)."""


class Cut(msgspec.Struct, frozen=True, gc=False):
    """The last candidate read of a product that may have more: its group, and its unit
    price at the quantity the order asks of the product."""

    rank: Rank
    price_at_quantity: int


def products_to_split_on_all(
    plan: SplitPlan,
    cuts: Mapping[UUID, Cut],
    rank_of_listing: Mapping[UUID, Rank],
    pinned_lines: Collection[int],
) -> set[UUID]:
    """The products of `cuts` whose part of `plan` might change with every candidate."""
    if not cuts:
        return set()
    unsure = {short.product_id for short in plan.shortfalls if short.product_id in cuts}
    for leg in plan.legs:
        cut = cuts.get(leg.product_id)
        if cut is None or leg.line_no in pinned_lines or leg.product_id in unsure:
            continue
        if leg.kind is LegKind.TRADE_CONTRACT or leg.listing_id is None:
            unsure.add(leg.product_id)
            continue
        rank = rank_of_listing[leg.listing_id]
        if rank > cut.rank or (rank == cut.rank and leg.unit_price >= cut.price_at_quantity):
            unsure.add(leg.product_id)
    return unsure
