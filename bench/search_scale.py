"""Catalogue search as the catalogue grows (issue #19 item 4): the same searches at 10,000,
100,000 and 1,000,000 listings (300 products; 2,000 sellers, or one per 50 listings beyond
100,000), each size in a database of its own seeded like `bench.search`.

For each case: p50 of the bare statement the API sends (`search_page_sql`, plain asyncpg),
and the growth exponent between two sizes, log(t_large / t_small) / log(10): 0 is a cost
that does not grow with the catalogue, 1 a cost proportional to it. Goal: ≤ 1 (≈ 0 for a
search that touches a bounded number of products or a bounded share of the rows). The plan
of every case at the largest size, with EXPLAIN (ANALYZE, BUFFERS), goes to the report.
"""

from __future__ import annotations

import itertools
import math
import os

from bench.harness import Result, Section, Services, asyncpg_dsn, median
from bench.search import bare_query, capture_search, on_uvloop, seed
from bench.seed import kitchen_with_key

SIZES = tuple(
    int(n) for n in os.environ.get("BENCH_SEARCH_SIZES", "10000,100000,1000000").split(",")
)
CASES = [
    ("q=telur ayam, region=35.76", {"q": "telur ayam", "region": "35.76"}),
    ("q=minyak goreng, in_stock", {"q": "minyak goreng", "in_stock": "true"}),
    ("q=telor (spelling variant)", {"q": "telor", "limit": "20"}),
    ("q=beras (many products)", {"q": "beras"}),
    ("category=rice, in_stock", {"category": "rice", "in_stock": "true"}),
    ("region=35.76.02 (district)", {"region": "35.76.02"}),
    ("no filter (whole catalogue)", {}),
]


def run(services: Services, section: Section) -> None:
    p50s: dict[str, dict[int, float]] = {name: {} for name, _ in CASES}
    plans: dict[str, str] = {}
    for size in SIZES:
        with services.database(f"scale{size}") as url:
            on_uvloop(seed(url, listings=size, sellers=max(2000, size // 50)))
            principal, _key = on_uvloop(kitchen_with_key(url))
            for name, params in CASES:
                statement, parameters, _service = on_uvloop(capture_search(url, principal, params))
                samples, plan = on_uvloop(bare_query(asyncpg_dsn(url), statement, parameters))
                p50s[name][size] = median(samples)
                plans[name] = plan
                print(f"  {size:>9,} listings  {name}: p50 {median(samples):.2f} ms", flush=True)
    smallest, largest = SIZES[0], SIZES[-1]
    for name, _ in CASES:
        figures = p50s[name]
        exponents = [
            math.log(figures[b] / figures[a]) / math.log(b / a)
            for a, b in itertools.pairwise(SIZES)
        ]
        section.add(
            Result(
                name=f"search at {largest:,} listings: {name}",
                figure=figures[largest],
                unit="ms p50",
                baseline=figures[smallest],
                ratio=figures[largest] / figures[smallest],
                target="growth exponent ≤ 1",
                notes="p50 "
                + ", ".join(f"{figures[n]:.2f} ms at {n:,}" for n in SIZES)
                + "; growth exponent "
                + ", ".join(
                    f"{e:.2f} ({a:,}→{b:,})"
                    for e, (a, b) in zip(exponents, itertools.pairwise(SIZES), strict=False)
                ),
            )
        )
    for name, plan in plans.items():
        section.note(f"Plan at {largest:,} listings, {name}:\n\n```\n{plan}\n```")


__all__ = ["run"]
