"""Outbox events for tests that need one without the flow that emits it: a partner event
of a given type with placeholder fields (`example`), or an event of a test topic no
context emits (`topic_event`)."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import uuid
from typing import Any

import msgspec

from marketplace.events import Event
from marketplace.webhooks.domain.events import PARTNER_EVENT_CLASSES


def _placeholder(info: msgspec.inspect.Type) -> Any:
    match info:
        case msgspec.inspect.UnionType(types=types):
            return (
                None
                if any(isinstance(t, msgspec.inspect.NoneType) for t in types)
                else (_placeholder(types[0]))
            )
        case msgspec.inspect.UUIDType():
            return uuid.uuid4()
        case msgspec.inspect.DateTimeType():
            return dt.datetime.now(dt.UTC)
        case msgspec.inspect.DateType():
            return dt.date.today()
        case msgspec.inspect.IntType():
            return 0
        case msgspec.inspect.StrType():
            return "x"
        case msgspec.inspect.LiteralType(values=values):
            return values[0]
        case msgspec.inspect.EnumType(cls=cls):
            member: enum.Enum = next(iter(cls))
            return member.value
        case msgspec.inspect.ListType():
            return []
    raise NotImplementedError(f"no placeholder for {info}")


def example(event_type: str, **fields: Any) -> Event:
    """The partner event of this type: `fields` as given, every other one a placeholder."""
    event_class = PARTNER_EVENT_CLASSES[event_type]
    info = msgspec.inspect.type_info(event_class)
    assert isinstance(info, msgspec.inspect.StructType)
    payload = {
        field.name: _placeholder(field.type)
        for field in info.fields
        if field.required and field.name not in fields
    }
    return msgspec.convert({**payload, **fields}, event_class)


@functools.cache
def topic_event_class(event_type: str) -> type[Event]:
    """An event class of a topic no context emits (one class per topic), holding any
    fields (`n`, `amount`, ...) as integers."""
    event_class = msgspec.defstruct(
        f"TestEvent_{event_type.replace('.', '_')}",
        [("n", int, 0), ("i", int, 0), ("amount", int, 0)],
        bases=(Event,),
        namespace={"event_type": event_type},
        frozen=True,
        kw_only=True,
    )
    assert issubclass(event_class, Event)
    return event_class


def topic_event(event_type: str, **fields: int) -> Event:
    return topic_event_class(event_type)(**fields)
