"""Order and leg state machines (pure).

A leg moves ``reserved → shipped → delivered`` (delivery is the buyer's goods receipt) or
``reserved → cancelled``. Nothing else: a shipped leg is on a truck and can only arrive;
a return after delivery is a separate money/stock event, not a state change here.

An order's status is mostly *derived* from its legs (see `derive_order_status`). Two steps
are explicit order events because no leg change implies them: ``confirm`` (the seller side
accepts a placed order) and ``complete`` (a fulfilled order is closed, e.g. after payment).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from marketplace.errors import InvalidTransition, ValidationFailed


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    CONFIRMED = "confirmed"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class LegStatus(enum.StrEnum):
    RESERVED = "reserved"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class LegEvent(enum.StrEnum):
    SHIP = "ship"
    DELIVER = "deliver"
    CANCEL = "cancel"


class OrderEvent(enum.StrEnum):
    CONFIRM = "confirm"
    COMPLETE = "complete"


class OrderHasNoLegs(ValidationFailed):
    code = "orders.no_legs"
    title = "An order needs at least one leg"


LEG_TRANSITIONS: Mapping[tuple[LegStatus, LegEvent], LegStatus] = MappingProxyType(
    {
        (LegStatus.RESERVED, LegEvent.SHIP): LegStatus.SHIPPED,
        (LegStatus.SHIPPED, LegEvent.DELIVER): LegStatus.DELIVERED,
        (LegStatus.RESERVED, LegEvent.CANCEL): LegStatus.CANCELLED,
    }
)
"""Every legal leg transition; any (status, event) pair not listed is refused."""

ORDER_TRANSITIONS: Mapping[tuple[OrderStatus, OrderEvent], OrderStatus] = MappingProxyType(
    {
        (OrderStatus.PLACED, OrderEvent.CONFIRM): OrderStatus.CONFIRMED,
        (OrderStatus.FULFILLED, OrderEvent.COMPLETE): OrderStatus.COMPLETED,
    }
)
"""The explicit order events; all other order status changes are derived from legs."""

CLOSED_ORDER_STATUSES: frozenset[OrderStatus] = frozenset(
    {OrderStatus.COMPLETED, OrderStatus.CANCELLED}
)
TERMINAL_LEG_STATUSES: frozenset[LegStatus] = frozenset({LegStatus.DELIVERED, LegStatus.CANCELLED})
_IN_MOTION = frozenset({LegStatus.SHIPPED, LegStatus.DELIVERED})


def next_leg_status(current: LegStatus, event: LegEvent) -> LegStatus:
    """The leg status after `event`, or `InvalidTransition` carrying ``from`` and ``event``."""
    try:
        return LEG_TRANSITIONS[(current, event)]
    except KeyError:
        raise InvalidTransition(
            f"A leg that is {current} cannot {event}.", **{"from": current, "event": event}
        ) from None


def next_order_status(current: OrderStatus, event: OrderEvent) -> OrderStatus:
    """The order status after an explicit order event (confirm, complete)."""
    try:
        return ORDER_TRANSITIONS[(current, event)]
    except KeyError:
        raise InvalidTransition(
            f"An order that is {current} cannot {event}.", **{"from": current, "event": event}
        ) from None


def derive_order_status(
    leg_statuses: Iterable[LegStatus], *, confirmed: bool = False
) -> OrderStatus:
    """The order status implied by its legs. The first matching rule wins:

    1. no legs at all → `OrderHasNoLegs` (a split always yields at least one leg);
    2. every leg cancelled → ``cancelled``;
    3. every leg delivered or cancelled (so at least one delivered) → ``fulfilled``;
    4. any leg shipped or delivered → ``partially_fulfilled`` (goods are moving but the
       buyer has not received everything still owed);
    5. otherwise nothing has shipped yet (legs reserved, some perhaps cancelled) →
       ``confirmed`` if the order was confirmed, else ``placed``.

    ``completed`` is never derived: closing a fulfilled order is the explicit
    ``complete`` event. The result does not depend on the order of the legs.
    """
    statuses = frozenset(leg_statuses)
    if not statuses:
        raise OrderHasNoLegs("An order must have at least one leg.")
    if statuses == {LegStatus.CANCELLED}:
        return OrderStatus.CANCELLED
    if statuses <= TERMINAL_LEG_STATUSES:
        return OrderStatus.FULFILLED
    if statuses & _IN_MOTION:
        return OrderStatus.PARTIALLY_FULFILLED
    return OrderStatus.CONFIRMED if confirmed else OrderStatus.PLACED


def order_status_after_leg_change(
    current: OrderStatus, leg_statuses: Iterable[LegStatus]
) -> OrderStatus:
    """Re-derive an open order's status after one of its legs changed.

    A closed order (completed or cancelled) accepts no leg changes. Confirmation is kept:
    any status past ``placed`` means the order was confirmed (or is already moving).
    """
    if current in CLOSED_ORDER_STATUSES:
        raise InvalidTransition(
            f"The order is {current}; its legs can no longer change.",
            **{"from": current, "event": "leg_change"},
        )
    return derive_order_status(leg_statuses, confirmed=current is not OrderStatus.PLACED)


def can_cancel_order(leg_statuses: Iterable[LegStatus]) -> bool:
    """Whether the buyer may still cancel the whole order.

    Only before anything has shipped, and only while something is left to cancel: an order
    with no legs, or whose legs are all cancelled already, has nothing to cancel.
    """
    statuses = frozenset(leg_statuses)
    return LegStatus.RESERVED in statuses and not (statuses & _IN_MOTION)
