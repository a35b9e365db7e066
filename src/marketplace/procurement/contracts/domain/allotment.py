"""Allotting an inter-city trade contract's volume across supplying cooperatives (pure).

The trade center keeps its suppliers in a stated list order (the order they signed up, or
whatever priority the office sets). That order is the tie-breaker everywhere, so the same
contract and the same list always give the same allotment.

`allot` shares the volume in proportion to declared capacity using the largest-remainder
method. `reallot_shortfall` handles a supplier that cannot ship its whole allotment: the
shortfall goes greedily "down the list" — first to the suppliers after it, then wrapping
to those before it — each taking what its spare capacity allows. Whatever nobody can take
is reported as unplaced, never silently dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from marketplace.errors import ValidationFailed
from marketplace.money import allocate_proportionally


class SupplierCapacity(msgspec.Struct, frozen=True, kw_only=True):
    supplier_id: uuid.UUID
    capacity: int


class Allotment(msgspec.Struct, frozen=True, kw_only=True):
    supplier_id: uuid.UUID
    quantity: int


class Reallotment(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of re-allotting a shortfall.

    `allotments` has one row per supplier in list order. `capacities` is the input list with
    the short supplier's capacity lowered to what it said it can ship, so a further shortfall
    in the same period is never wrapped back onto it. `unplaced` is what nobody could take.
    """

    allotments: tuple[Allotment, ...]
    capacities: tuple[SupplierCapacity, ...]
    unplaced: int


class InsufficientCapacity(ValidationFailed):
    code = "procurement.insufficient_capacity"
    title = "The suppliers cannot cover the contract volume"


class InvalidCapacity(ValidationFailed):
    code = "procurement.invalid_capacity"
    title = "A supplier's declared capacity is not valid"


class InvalidVolume(ValidationFailed):
    code = "procurement.invalid_volume"
    title = "The volume to allot is not valid"


class DuplicateSupplier(ValidationFailed):
    code = "procurement.duplicate_supplier"
    title = "A supplier appears more than once"


class InvalidShortfall(ValidationFailed):
    code = "procurement.invalid_shortfall"
    title = "The declared shortfall is not valid"


class InvalidAllotment(ValidationFailed):
    code = "procurement.invalid_allotment"
    title = "The allotments do not match the suppliers"


def allot(volume: int, suppliers: Sequence[SupplierCapacity]) -> tuple[Allotment, ...]:
    """Share `volume` across `suppliers` in proportion to capacity.

    Returns one `Allotment` per supplier, in list order (a supplier may get 0). Each gets
    ``floor(volume * capacity / total)``; the units left over go one each to the largest
    fractional remainders, ties to the earlier supplier. No supplier exceeds its capacity:
    a remainder exists only when the exact share is below capacity.
    """
    if volume < 0:
        raise InvalidVolume("The volume to allot cannot be negative.", volume=volume)
    _check_unique(suppliers)
    for supplier in suppliers:
        if supplier.capacity <= 0:
            raise InvalidCapacity(
                "Every supplier must declare a positive capacity.",
                supplier_id=str(supplier.supplier_id),
                capacity=supplier.capacity,
            )
    total_capacity = sum(supplier.capacity for supplier in suppliers)
    if total_capacity < volume:
        raise InsufficientCapacity(
            f"The suppliers can take {total_capacity} of the {volume} units.",
            volume=volume,
            total_capacity=total_capacity,
            shortfall=volume - total_capacity,
        )
    if volume == 0:
        return tuple(Allotment(supplier_id=s.supplier_id, quantity=0) for s in suppliers)

    # Largest remainder, ties to the earlier supplier: the same rule as money's allocation.
    quantities = allocate_proportionally(volume, [s.capacity for s in suppliers])
    return tuple(
        Allotment(supplier_id=supplier.supplier_id, quantity=quantity)
        for supplier, quantity in zip(suppliers, quantities, strict=True)
    )


def reallot_shortfall(
    allotments: Sequence[Allotment],
    capacities: Sequence[SupplierCapacity],
    supplier_id: uuid.UUID,
    shortfall: int,
) -> Reallotment:
    """Move `shortfall` units away from `supplier_id` to suppliers with spare capacity.

    `capacities` fixes the list order; `allotments` are matched to it by supplier id (a
    supplier without an allotment row has 0). Here a capacity may be 0: a supplier that
    already declared it can ship nothing more. The short supplier keeps
    ``allotted - shortfall``; the others are visited in list order starting just after it
    and wrapping round, each taking ``min(remaining, capacity - allotted)``.
    """
    _check_unique(capacities)
    positions = {c.supplier_id: i for i, c in enumerate(capacities)}
    if supplier_id not in positions:
        raise InvalidShortfall(
            "The short supplier is not on the list.", supplier_id=str(supplier_id)
        )
    quantities = _quantities_by_position(allotments, capacities, positions)
    short_position = positions[supplier_id]
    allotted = quantities[short_position]
    if not 0 < shortfall <= allotted:
        raise InvalidShortfall(
            f"The shortfall must be between 1 and the {allotted} units allotted.",
            supplier_id=str(supplier_id),
            allotted=allotted,
            shortfall=shortfall,
        )

    quantities[short_position] = allotted - shortfall
    remaining = shortfall
    count = len(capacities)
    for step in range(1, count):
        if remaining == 0:
            break
        position = (short_position + step) % count
        spare = capacities[position].capacity - quantities[position]
        taken = min(remaining, spare)
        quantities[position] += taken
        remaining -= taken

    new_capacities = tuple(
        SupplierCapacity(supplier_id=c.supplier_id, capacity=quantities[short_position])
        if i == short_position
        else c
        for i, c in enumerate(capacities)
    )
    return Reallotment(
        allotments=tuple(
            Allotment(supplier_id=c.supplier_id, quantity=quantities[i])
            for i, c in enumerate(capacities)
        ),
        capacities=new_capacities,
        unplaced=remaining,
    )


def _check_unique(suppliers: Sequence[SupplierCapacity]) -> None:
    seen: set[uuid.UUID] = set()
    for supplier in suppliers:
        if supplier.supplier_id in seen:
            raise DuplicateSupplier(
                "Each supplier may appear only once.", supplier_id=str(supplier.supplier_id)
            )
        seen.add(supplier.supplier_id)


def _quantities_by_position(
    allotments: Sequence[Allotment],
    capacities: Sequence[SupplierCapacity],
    positions: dict[uuid.UUID, int],
) -> list[int]:
    for row in capacities:
        if row.capacity < 0:
            raise InvalidCapacity(
                "A capacity cannot be negative.",
                supplier_id=str(row.supplier_id),
                capacity=row.capacity,
            )
    quantities = [0] * len(capacities)
    matched: set[uuid.UUID] = set()
    for allotment in allotments:
        position = positions.get(allotment.supplier_id)
        if position is None or allotment.supplier_id in matched:
            raise InvalidAllotment(
                "Each allotment must name a listed supplier, once.",
                supplier_id=str(allotment.supplier_id),
            )
        matched.add(allotment.supplier_id)
        capacity = capacities[position].capacity
        if not 0 <= allotment.quantity <= capacity:
            raise InvalidAllotment(
                "An allotment must be between 0 and the supplier's capacity.",
                supplier_id=str(allotment.supplier_id),
                quantity=allotment.quantity,
                capacity=capacity,
            )
        quantities[position] = allotment.quantity
    return quantities
