"""A Bulog lot's terms (pure): which Bulog branch supplies a cooperative, how big a lot is in
sale units, and when it stops pooling."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterable

LOT_UNIT_GRAMS = 1_000_000
"""Bulog sells in whole tonnes (configurable per deployment)."""
LOT_UNIT_MILLILITRES = 12_000
"""Cooking oil in cartons of 12 L."""
LOT_UNITS_PER_LOT = 2
"""A lot closes early when it reaches the weekly quota, about 2 t per cooperative."""
CUTOFF_HOUR = 12
MIN_POOLING = dt.timedelta(hours=24)
"""A lot pools for at least a day and closes at the next noon (cooperative's time) after."""


def choose_branch(region_code: str, branches: Iterable[tuple[uuid.UUID, str]]) -> uuid.UUID | None:
    """The Bulog branch for a cooperative: one in its province, the one sharing the longest
    region prefix first; else any branch. Ties go to the lowest id, so it is deterministic."""
    ours = region_code.split(".")
    best: tuple[int, int, uuid.UUID] | None = None
    for branch_id, branch_region in branches:
        theirs = branch_region.split(".")
        shared = 0
        for a, b in zip(ours, theirs, strict=False):
            if a != b:
                break
            shared += 1
        key = (-shared, branch_id.int, branch_id)
        if best is None or key[:2] < best[:2]:
            best = key
    return None if best is None else best[2]


def lot_terms(net_content: int, net_content_unit: str) -> tuple[int, int]:
    """(lot unit, lot size) in sale units for a product: whole tonnes (or 12 L cartons),
    rounded up to whole sale units; a lot closes early at `LOT_UNITS_PER_LOT` lot units."""
    base = {"GRM": LOT_UNIT_GRAMS, "MLT": LOT_UNIT_MILLILITRES}.get(net_content_unit)
    lot_unit = 1 if base is None or net_content <= 0 else max(1, -(-base // net_content))
    return lot_unit, lot_unit * LOT_UNITS_PER_LOT


def cutoff_after(now: dt.datetime, time_zone: str) -> dt.datetime:
    """The first `CUTOFF_HOUR`:00 local time at least `MIN_POOLING` after `now`."""
    zone = zoneinfo.ZoneInfo(time_zone)
    earliest = (now + MIN_POOLING).astimezone(zone)
    cutoff = earliest.replace(hour=CUTOFF_HOUR, minute=0, second=0, microsecond=0)
    if cutoff < earliest:
        cutoff += dt.timedelta(days=1)
    return cutoff.astimezone(dt.UTC)
