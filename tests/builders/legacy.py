"""Dict-style reads on typed test objects, for tests written against the old `world` dicts.

Tests written before the builders (`world["rice"]["id"]`) keep running on the typed worlds
and Structs while they are moved over; new tests read attributes (`world.rice.id`)."""

from __future__ import annotations

from typing import Any


class LegacyKeys:
    """`obj["name"]` reads `obj.name`."""

    __slots__ = ()

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None
