"""Geometry of the office's charts, pure: the page's SVG draws what these compute.

A chart's `viewBox` is fixed (the SVG scales to the phone's width), so the numbers here are
in its own units."""

from __future__ import annotations

import msgspec

WIDTH = 320
HEIGHT = 160
PAD = 24
BAR_HEIGHT = 24
BAR_GAP = 8


class Point(msgspec.Struct, frozen=True):
    x: int
    y: int
    label: str
    value: int


class Bar(msgspec.Struct, frozen=True):
    y: int
    width: int
    label: str
    value: int


def line(values: list[int], labels: list[str]) -> list[Point]:
    """Points of a line over `values`, left to right, the largest at the top."""
    top = max([*values, 1])
    step = (WIDTH - 2 * PAD) // max(len(values) - 1, 1)
    return [
        Point(
            x=PAD + i * step,
            y=HEIGHT - PAD - (v * (HEIGHT - 2 * PAD)) // top if v > 0 else HEIGHT - PAD,
            label=label,
            value=v,
        )
        for i, (v, label) in enumerate(zip(values, labels, strict=True))
    ]


def polyline(points: list[Point]) -> str:
    return " ".join(f"{p.x},{p.y}" for p in points)


def bars(values: list[int], labels: list[str]) -> list[Bar]:
    """Horizontal bars, one a row (long names fit a phone), the longest full width."""
    top = max([*values, 1])
    return [
        Bar(
            y=i * (BAR_HEIGHT + BAR_GAP),
            width=max(v, 0) * WIDTH // top,
            label=label,
            value=v,
        )
        for i, (v, label) in enumerate(zip(values, labels, strict=True))
    ]


def bars_height(count: int) -> int:
    return max(count, 1) * (BAR_HEIGHT + BAR_GAP)
