"""How near a source is to where an order is delivered, by region code."""

from __future__ import annotations


def region_prefixes(region_code: str) -> list[str]:
    """The code cut after each of its segments, shortest first, each with a trailing dot
    ("35.", "35.76.", …): how near a source is to the delivery region is how many of
    these its code (plus a dot) starts with. The split engine and the candidates
    statement rank by the same cuts (`orders.sources.within_prefixes`)."""
    segments = region_code.split(".")
    return [".".join(segments[:k]) + "." for k in range(1, len(segments) + 1)]
