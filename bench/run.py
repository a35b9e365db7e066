"""Run the benchmarks and write the report: `python -m bench.run [hot_sku …]` (all if none).

Prints every figure as it is measured, then the whole report, which is also written to
`bench/results/latest.md` and `bench/results/latest.json`. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback

from bench.harness import Section, start_services, write_report

BENCHMARKS = {
    "search": ("bench.search", "Catalogue search through the API vs the bare query (issue 3)"),
    "search_scale": (
        "bench.search_scale",
        "Catalogue search at 10k, 100k and 1M listings: p50 and growth (#19 item 4)",
    ),
    "orders": ("bench.orders", "Order placement vs raw asyncpg, and the split engine (issue 4)"),
    "http": (
        "bench.http",
        "HTTP reads: the API vs the same-work floor and a minimal app, interleaved (issue 8, #19)",
    ),
    "capacity": (
        "bench.capacity",
        "Capacity: 20-line orders through serve --workers 2, uvicorn vs Granian vs raw "
        "asyncpg, closed and open loop (#19 item 6)",
    ),
    "hot_sku": (
        "bench.hot_sku",
        "Hot SKU: 100 concurrent buyers on one listing vs on 100 listings (issue 8)",
    ),
    "pages": ("bench.pages", "The kitchen's pages: first-load weight and server time (#15, #19)"),
    "reports": (
        "bench.reports",
        "The city office's report over 18 cooperatives x 365 days x 200 orders vs GROUP BY (#17)",
    ),
    "tracing": ("bench.tracing", "Tracing off vs on (OTLP to a local sink) (#18 item 2)"),
    "consignment": (
        "bench.consignment_settlement",
        "Consignment settlement of 1M sales vs SQL GROUP BY (issue 5)",
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"some of: {', '.join(BENCHMARKS)} (all)")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    services = start_services()
    postgres = services.postgres_version()
    print(
        f"PostgreSQL {postgres} ({'embedded' if services.embedded else 'DATABASE_URL'}), "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    sections: list[Section] = []
    failed = False
    for name in names:
        module_name, title = BENCHMARKS[name]
        section = Section(name=f"{name}: {title}")
        sections.append(section)
        print(f"\n=== {section.name}", flush=True)
        started = time.perf_counter()
        section.load_before = os.getloadavg()[0]
        try:
            importlib.import_module(module_name).run(services, section)
        except Exception:
            failed = True
            section.note("**Failed:**\n\n```\n" + traceback.format_exc() + "```")
        section.seconds = time.perf_counter() - started
        section.load_after = os.getloadavg()[0]
        print(f"=== {name} took {section.seconds:.0f} s", flush=True)
    report = write_report(
        sections, {"postgres": postgres, "services": "embedded" if services.embedded else "env"}
    )
    print("\n" + report)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
