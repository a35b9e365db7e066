"""The listings context's events (see `marketplace.events`)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from marketplace.events import Currency, PartnerEvent
from marketplace.money import Rupiah


class ListingPaused(PartnerEvent, frozen=True, kw_only=True):
    """A price cap left an active listing nothing it may sell, so it was paused: its
    seller's system learns it must reprice it."""

    event_type: ClassVar[str] = "listing.paused"
    listing_id: uuid.UUID
    product_id: uuid.UUID
    reason: Literal["price_above_cap"]
    lowest_unit_price: Rupiah
    cap: Rupiah
    region_prefix: str
    currency: Currency = "IDR"


__all__ = [
    "ListingPaused",
]
