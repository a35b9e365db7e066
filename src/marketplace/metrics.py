"""The process's Prometheus metrics: what each request, problem and rate-limit verdict adds.

Counted where it happens (`marketplace.request_ids` for every request, `marketplace.http`
for every problem, `marketplace.rate_limits` for refusals and fail-opens); what is read at
scrape time (pools, backlogs, Redis, the worker) is `marketplace.monitoring`'s.

Under `marketplace serve` every uvicorn process writes its counts to files in
`PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode; `serve` makes a fresh
folder when none is set), so whichever process answers a scrape reports the whole pod.
Without it (tests, one process) the counts are the process's own.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram(
    "marketplace_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer; `_count` is the request count.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PROBLEMS = Counter(
    "marketplace_problems_total",
    "Problem answers by stable code (`orders.insufficient_supply`: oversell refused).",
    ["code"],
)
ORDERS_PLACED = Counter(
    "marketplace_orders_placed_total",
    "Orders placed through `POST /v1/orders` (201, not an idempotent replay).",
)
RATE_LIMIT_REFUSALS = Counter(
    "marketplace_rate_limit_refusals_total",
    "Requests refused with 429 by a rate limit, by policy (key, address, bad-keys).",
    ["policy"],
)
RATE_LIMIT_FAIL_OPEN = Counter(
    "marketplace_rate_limit_fail_open_total",
    "Requests served uncounted because Redis could not be asked in time.",
)

UNMATCHED = "unmatched"  # no route: one label for every unknown path
_ORDERS_ROUTE = "/v1/orders"
_children: dict[tuple[str, str, int], Any] = {}


def observe_request(
    method: str, route: str | None, status: int, seconds: float, replayed: bool
) -> None:
    key = (method, route or UNMATCHED, status)
    child = _children.get(key)
    if child is None:
        child = _children[key] = REQUEST_SECONDS.labels(key[0], key[1], str(status))
    child.observe(seconds)
    if status == 201 and route == _ORDERS_ROUTE and method == "POST" and not replayed:
        ORDERS_PLACED.inc()


_problems: dict[str, Any] = {}


def count_problem(code: str) -> None:
    child = _problems.get(code)
    if child is None:
        child = _problems[code] = PROBLEMS.labels(code)
    child.inc()
