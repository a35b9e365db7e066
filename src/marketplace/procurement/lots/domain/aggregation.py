"""Pooling buyers' demand into Bulog purchase lots (pure).

One lot is open per `LotKey` (cooperative, product, Bulog branch) and collects the
``bulog_lot`` legs of many orders. Quantities are integers of the listing's sale unit; the
caller converts Bulog's lot unit into that unit before calling (e.g. a 1 t lot unit of
5 kg sacks is 200).

Two sizes matter and are different things:

* ``lot_unit`` — Bulog's ordering granularity: a purchase order is a whole number of these;
* ``lot_size`` — the target at which a lot closes early, before its cut-off (e.g. the
  cooperative's weekly quota).

When Bulog delivers less than ordered, the oldest demand is served first and in full, so a
buyer who ordered earlier is never short while a later buyer is served. At most one leg —
the one where the goods run out — is filled in part.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec

from marketplace.errors import ValidationFailed


class LotKey(msgspec.Struct, frozen=True, kw_only=True):
    cooperative_id: uuid.UUID
    product_id: uuid.UUID
    bulog_branch_id: uuid.UUID


class DemandLine(msgspec.Struct, frozen=True, kw_only=True):
    leg_id: uuid.UUID
    order_id: uuid.UUID
    ordered_at: datetime
    quantity: int


class LotOrder(msgspec.Struct, frozen=True, kw_only=True):
    """What to order from Bulog: whole lot units, the rounding surplus kept as own stock."""

    order_quantity: int
    surplus: int


class LegRelease(msgspec.Struct, frozen=True, kw_only=True):
    leg_id: uuid.UUID
    order_id: uuid.UUID
    demanded: int
    released: int
    unfilled: int


class ReceiptAllocation(msgspec.Struct, frozen=True, kw_only=True):
    """How a Bulog receipt is shared out.

    `releases` holds one row per demand line, oldest first; `surplus` is what was received
    beyond all demand and goes into the cooperative's own stock.
    """

    releases: tuple[LegRelease, ...]
    surplus: int

    @property
    def released_total(self) -> int:
        return sum(release.released for release in self.releases)

    @property
    def unfilled_total(self) -> int:
        return sum(release.unfilled for release in self.releases)


class InvalidLotUnit(ValidationFailed):
    code = "procurement.invalid_lot_unit"
    title = "The lot unit or lot size is not valid"


class InvalidQuantity(ValidationFailed):
    code = "procurement.invalid_quantity"
    title = "A quantity is not valid"


class NaiveDatetime(ValidationFailed):
    code = "procurement.naive_datetime"
    title = "Times must carry a time zone"


class DuplicateDemandLine(ValidationFailed):
    code = "procurement.duplicate_leg"
    title = "A leg appears more than once in a lot"


def lot_order_quantity(total_demand: int, lot_unit: int) -> LotOrder:
    """Round the pooled demand up to whole lot units.

    The cooperative buys the rounding surplus itself (it becomes its own stock), because a
    lot cannot be split and leaving buyers short to avoid the surplus defeats pooling.
    No demand orders nothing.
    """
    if lot_unit <= 0:
        raise InvalidLotUnit("The lot unit must be positive.", lot_unit=lot_unit)
    if total_demand < 0:
        raise InvalidQuantity("Demand cannot be negative.", total_demand=total_demand)
    units = -(-total_demand // lot_unit)
    order_quantity = units * lot_unit
    return LotOrder(order_quantity=order_quantity, surplus=order_quantity - total_demand)


def should_close(total_demand: int, lot_size: int, cutoff: datetime, now: datetime) -> bool:
    """Whether an open lot closes now: it has reached `lot_size`, or `now` is at or past
    its cut-off. A lot with no demand still closes at its cut-off (it then orders nothing).
    """
    if lot_size <= 0:
        raise InvalidLotUnit("The lot size must be positive.", lot_size=lot_size)
    if total_demand < 0:
        raise InvalidQuantity("Demand cannot be negative.", total_demand=total_demand)
    _require_aware(cutoff=cutoff, now=now)
    return total_demand >= lot_size or now >= cutoff


def allocate_receipt(
    demand_lines: Sequence[DemandLine], received_quantity: int
) -> ReceiptAllocation:
    """Release a Bulog receipt to the waiting legs, oldest order first.

    Lines are served in ``(ordered_at, leg_id)`` order — the leg id only breaks ties so the
    outcome never depends on how the lines were loaded. Each line takes
    ``min(its quantity, what is left)``. Per line ``released + unfilled == demanded``, and
    ``sum(released) + surplus == received_quantity``.
    """
    if received_quantity < 0:
        raise InvalidQuantity(
            "The received quantity cannot be negative.", received_quantity=received_quantity
        )
    seen: set[uuid.UUID] = set()
    for line in demand_lines:
        if line.leg_id in seen:
            raise DuplicateDemandLine("Each leg may be pooled once.", leg_id=str(line.leg_id))
        seen.add(line.leg_id)
        if line.quantity <= 0:
            raise InvalidQuantity(
                "Every demand line needs a positive quantity.",
                leg_id=str(line.leg_id),
                quantity=line.quantity,
            )
        _require_aware(ordered_at=line.ordered_at)

    remaining = received_quantity
    releases: list[LegRelease] = []
    for line in sorted(demand_lines, key=lambda line: (line.ordered_at, line.leg_id)):
        released = min(line.quantity, remaining)
        remaining -= released
        releases.append(
            LegRelease(
                leg_id=line.leg_id,
                order_id=line.order_id,
                demanded=line.quantity,
                released=released,
                unfilled=line.quantity - released,
            )
        )
    return ReceiptAllocation(releases=tuple(releases), surplus=remaining)


def _require_aware(**moments: datetime) -> None:
    for name, moment in moments.items():
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise NaiveDatetime(f"{name} must carry a time zone.", field=name)
