"""The events: one Struct class per type, what partners are offered is what is emitted,
and a stored payload decodes back into the event it was written from."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import pkgutil
import re
from pathlib import Path

import msgspec

import marketplace
from marketplace.cli import export_openapi
from marketplace.events import Event, PartnerEvent, event_from, payload_of
from marketplace.webhooks.domain import EVENT_TYPES, EventType
from marketplace.webhooks.domain.events import PARTNER_EVENT_CLASSES, PARTNER_EVENTS
from tests.builders.events import example

SOURCE = Path(marketplace.__file__).parent


def event_classes() -> list[type[Event]]:
    """Every event class of a type in the product (each context's `domain/events.py`)."""
    for module in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
        if module.name.endswith(".domain.events"):
            importlib.import_module(module.name)
    found: list[type[Event]] = []
    pending: list[type[Event]] = [Event]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "event_type" in vars(cls) and cls.__module__.startswith("marketplace."):
            found.append(cls)
    return found


def test_each_event_type_is_one_class() -> None:
    types = [cls.event_type for cls in event_classes()]
    assert len(types) == len(set(types))


def test_the_partner_events_are_every_partner_event_class_and_event_type() -> None:
    partner = {cls for cls in event_classes() if issubclass(cls, PartnerEvent)}
    assert set(PARTNER_EVENTS) == partner
    assert EVENT_TYPES == {e.value for e in EventType} == set(PARTNER_EVENT_CLASSES)


def built_outside_the_domain(cls: type[Event], code: str) -> bool:
    """By name, through a table of event classes that code picks from
    (`PAYMENT_EVENTS[status](...)`), or written by a set-based statement that builds the
    payload in SQL and names the event's topic (`StatementIssued.event_type`: the
    settlement run; its oracle test holds the payload equal to `payload_of`)."""
    if re.search(rf"\b{cls.__name__}\(", code):
        return True
    if re.search(rf"\b{cls.__name__}\.event_type\b", code):
        return True
    return any(
        isinstance(table, dict)
        and cls in table.values()
        and re.search(rf"\b{name}\[[^\]]+\]\(", code) is not None
        for name, table in vars(importlib.import_module(cls.__module__)).items()
    )


def test_every_event_class_is_emitted_somewhere() -> None:
    code = "\n".join(
        path.read_text() for path in SOURCE.rglob("*.py") if "domain" not in path.parts
    )
    unemitted = [cls for cls in event_classes() if not built_outside_the_domain(cls, code)]
    assert unemitted == []


def test_a_stored_payload_decodes_into_the_event_it_was_written_from() -> None:
    for event_type in EVENT_TYPES:
        event = example(event_type)
        stored = msgspec.json.decode(msgspec.json.encode(payload_of(event)))
        assert event_from(type(event), stored) == event
        assert payload_of(event_from(type(event), stored)) == stored


def test_date_times_are_stored_as_python_isoformat_as_before_they_were_typed() -> None:
    moment = dt.datetime(2026, 12, 3, 7, 0, 1, 250, tzinfo=dt.UTC)
    payload = payload_of(example("procurement.bulog_lot.closed", closed_at=moment))
    assert payload["closed_at"] == "2026-12-03T07:00:01.000250+00:00"


def test_the_openapi_webhooks_are_the_partner_events_with_their_payloads() -> None:
    """The contract's `webhooks`: one per partner event type, whose `data` names exactly
    the fields its payload carries, each always present."""
    webhooks = json.loads(export_openapi())["webhooks"]
    assert set(webhooks) == EVENT_TYPES
    for event_type, entry in webhooks.items():
        message = entry["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert message["properties"]["type"]["const"] == event_type
        data = message["properties"]["data"]
        payload = payload_of(example(event_type))
        assert set(data["properties"]) == set(data["required"]) == set(payload)
