"""What an outbox event is: one frozen msgspec Struct per event type (pure).

Each context declares its events in its `domain/events.py`, a Struct per type whose
`event_type` class attribute is the outbox topic. A `PartnerEvent` is part of the partner
contract: the webhooks context lists them (`marketplace.webhooks.domain.events`), fans them
out as the message's `data` and documents them in the OpenAPI document's `webhooks`. Any
other `Event` stays inside (a context tells another, or a record is kept).

The payload stored (and sent) is `payload_of(event)`: the Struct's fields as JSON values,
UUIDs and dates as strings, and date-times in Python's `isoformat()` (`+00:00`, not `Z`),
as the payloads were written before they were typed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal, TypeVar

import msgspec

Currency = Literal["IDR"]  # beside every amount, as in the API


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """An event of one context, written to the outbox in the transaction of its change."""

    event_type: ClassVar[str]  # the outbox topic, e.g. "order.placed"


class PartnerEvent(Event, frozen=True, kw_only=True):
    """An event partners subscribe to: its fields are the webhook message's `data`."""


E = TypeVar("E", bound=Event)


def payload_of(event: Event) -> dict[str, Any]:
    """The event as the JSON object stored in the outbox (and sent to partners)."""
    encoded = msgspec.to_builtins(event, builtin_types=(dt.datetime,))
    assert isinstance(encoded, dict)
    return {key: _isoformat_datetimes(value) for key, value in encoded.items()}


def _isoformat_datetimes(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_isoformat_datetimes(item) for item in value]
    if isinstance(value, dict):
        return {key: _isoformat_datetimes(item) for key, item in value.items()}
    return value


def event_from(event_class: type[E], payload: dict[str, Any]) -> E:
    """The stored payload as its event Struct (raises `msgspec.ValidationError` if the
    payload isn't one)."""
    return msgspec.convert(payload, event_class)
