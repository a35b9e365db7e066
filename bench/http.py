"""HTTP read throughput (issue 8, issue #19 item 2): the API against what the same work
costs at the least, in interleaved rounds.

Three servers run at once, each as the API is served (uvicorn, `WORKERS` processes, one
per core of this machine): the API (`marketplace serve`), the same-work floor
(`bench.floor_app`: a handler, the key from a dict, the API's own statement through an
asyncpg pool, the same answer bytes) and the minimal app (`bench.minimal_app`). The load
generator is an asyncio (uvloop) client in this process with `CONNECTIONS` keep-alive
connections issuing GETs back to back; every case gets `ROUNDS` slices of
`SECONDS / ROUNDS`, the cases taking turns, so a noisy moment of this shared machine
falls on all of them alike. Figures are medians of the rounds, for the whole box.

Pairs (API / baseline): `GET /v1/listings/{id}` and `GET /v1/orders/{id}` as a kitchen's
buyer key, and `GET /v1/consignment/statements/{id}` as its consignor's key, against the
floor's same routes; `GET /livez` (framework and middleware, no
database) against the minimal app's `GET /ping`. Goal for the single-object reads: at
least 0.5 of the floor.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import NamedTuple
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import uvloop

from bench.harness import (
    Result,
    Section,
    Services,
    api_server,
    asyncpg_dsn,
    floor_server,
    median,
    minimal_server,
    percentile,
)
from bench.search import seed
from bench.seed import KITCHEN_REGION, kitchen_with_key
from bench.statement_seed import RETURNS, SALES, a_statement

WORKERS = 2
CONNECTIONS = 32
SECONDS = 12.0
ROUNDS = 4
WARMUP_SECONDS = 2.0
FLOOR_TARGET = 0.5


async def load(
    base_url: str, path: str, headers: dict[str, str], seconds: float, warmup: bool = True
) -> tuple[int, int, list[float], float]:
    """(completed, errors, latencies ms, elapsed s) for `seconds` of closed-loop load.

    Each of `CONNECTIONS` tasks keeps one HTTP/1.1 keep-alive connection (asyncio
    streams, requests written by hand): far cheaper per request than an HTTP client
    library, so the generator takes as little as possible of the cores it shares.
    """
    url = httpx.URL(base_url)
    host, port = url.host, url.port or 80
    head = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors = 0

    async def worker(stop: float, record: bool) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                writer.write(request)
                response_head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in response_head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                if record:
                    if response_head[9:12] == b"200":
                        latencies.append((time.perf_counter() - start) * 1000)
                    else:
                        errors += 1
        finally:
            writer.close()

    if warmup:
        warm = time.perf_counter() + WARMUP_SECONDS
        await asyncio.gather(*(worker(warm, False) for _ in range(CONNECTIONS)))
    started = time.perf_counter()
    await asyncio.gather(*(worker(started + seconds, True) for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - started
    return len(latencies), errors, latencies, elapsed


def run_load(
    base_url: str, path: str, headers: dict[str, str], seconds: float, warmup: bool = True
) -> tuple[int, int, list[float], float]:
    return uvloop.run(load(base_url, path, headers, seconds, warmup))


async def some_listing(database_url: str) -> tuple[str, str]:
    """An active listing deep in the table, and its product."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        row = await conn.fetchrow(
            "SELECT id, product_id FROM listings WHERE status = 'active' AND on_hand > 10 "
            "ORDER BY id OFFSET 5000 LIMIT 1"
        )
        return str(row["id"]), str(row["product_id"])
    finally:
        await conn.close()


def an_order(base_url: str, headers: dict[str, str], product_id: str) -> str:
    """One order of the kitchen (placed through the API), to read back."""
    tomorrow = dt.datetime.now(ZoneInfo("Asia/Jakarta")).date() + dt.timedelta(days=1)
    body = {
        "lines": [{"product_id": product_id, "quantity": 2}],
        "delivery": {"date": tomorrow.isoformat(), "region_code": KITCHEN_REGION,
                     "address": "Jl. Bench 1"},
    }  # fmt: skip
    answer = httpx.post(
        f"{base_url}/v1/orders",
        json=body,
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["id"])


def baseline_name(floor: bool) -> str:
    return "the same-work floor" if floor else "the minimal app"


class Case(NamedTuple):
    label: str
    base_url: str
    path: str
    headers: dict[str, str]


def same_answers(pairs: list[tuple[Case, Case]]) -> None:
    """The floor must answer each read with the API's very bytes, or the pair is unfair."""
    for api, floor in pairs:
        answers = [
            httpx.get(f"{c.base_url}{c.path}", headers=c.headers, timeout=30) for c in (api, floor)
        ]
        for answer in answers:
            answer.raise_for_status()
        if answers[0].content != answers[1].content:
            raise AssertionError(f"{api.label} and {floor.label} answer different bytes")


def interleaved(cases: list[Case]) -> dict[str, tuple[float, list[float], int]]:
    """Per case: the median rate of its rounds, all its latencies, its errors."""
    rates: dict[str, list[float]] = {c.label: [] for c in cases}
    latencies: dict[str, list[float]] = {c.label: [] for c in cases}
    errors: dict[str, int] = dict.fromkeys(rates, 0)
    for number in range(ROUNDS):
        for case in cases:
            done, err, lat, elapsed = run_load(
                case.base_url, case.path, case.headers, SECONDS / ROUNDS, warmup=number == 0
            )
            rates[case.label].append(done / elapsed)
            latencies[case.label] += lat
            errors[case.label] += err
    return {c.label: (median(rates[c.label]), latencies[c.label], errors[c.label]) for c in cases}


def run(services: Services, section: Section) -> None:
    with services.database("http") as database_url:
        asyncio.run(seed(database_url))
        kitchen, key = asyncio.run(kitchen_with_key(database_url))
        listing_id, product_id = asyncio.run(some_listing(database_url))
        statement_id, consignor, consignor_key = asyncio.run(a_statement(database_url))
        headers = {"Authorization": f"Bearer {key}"}
        consignor_headers = {"Authorization": f"Bearer {consignor_key}"}
        section.note(
            f"Load: {CONNECTIONS} keep-alive HTTP/1.1 connections (asyncio/uvloop generator in "
            f"the benchmark process), closed loop; {ROUNDS} interleaved rounds of "
            f"{SECONDS / ROUNDS:.0f} s per case after a {WARMUP_SECONDS:.0f} s warm-up; three "
            f"servers up at once, each with {WORKERS} uvicorn workers; 100,000 listings; the "
            f"statement is a UMKM's week: {SALES} sales, {RETURNS} returns, 1 adjustment, "
            f"its payout, read with the UMKM's key."
        )
        floor_keys = f"{key}={kitchen.organization_id},{consignor_key}={consignor}"
        floor_env = {"BENCH_FLOOR_KEYS": floor_keys}
        redis_url = services.redis_url
        with (
            api_server(database_url, redis_url, workers=WORKERS, log_name="http-api") as api,
            floor_server(database_url, floor_env, workers=WORKERS, log_name="http-floor") as floor,
            minimal_server(workers=WORKERS, log_name="http-minimal") as minimal,
        ):
            order_id = an_order(api.base_url, headers, product_id)
            listing, order = f"/v1/listings/{listing_id}", f"/v1/orders/{order_id}"
            statement = f"/v1/consignment/statements/{statement_id}"
            cases = [
                Case("api listing", api.base_url, listing, headers),
                Case("floor listing", floor.base_url, listing, headers),
                Case("api order", api.base_url, order, headers),
                Case("floor order", floor.base_url, order, headers),
                Case("api statement", api.base_url, statement, consignor_headers),
                Case("floor statement", floor.base_url, statement, consignor_headers),
                Case("api livez", api.base_url, "/livez", {}),
                Case("minimal ping", minimal.base_url, "/ping", {}),
            ]
            same_answers([(cases[0], cases[1]), (cases[2], cases[3]), (cases[4], cases[5])])
            figures = interleaved(cases)
        pairs = [
            ("GET /v1/listings/{id} (auth + read)", "api listing", "floor listing", True),
            ("GET /v1/orders/{id} (auth + read)", "api order", "floor order", True),
            (
                "GET /v1/consignment/statements/{id} (auth + read)",
                "api statement",
                "floor statement",
                True,
            ),
            ("GET /livez (no database)", "api livez", "minimal ping", False),
        ]
        for label, measured, baseline, floor_pair in pairs:
            rate, lat, err = figures[measured]
            base_rate, base_lat, base_err = figures[baseline]
            section.add(
                Result(
                    name=f"http: API {label}, {WORKERS} workers",
                    figure=rate,
                    unit="req/s",
                    baseline=base_rate,
                    ratio=rate / base_rate,
                    target=f">= {FLOOR_TARGET} of the floor" if floor_pair else "recorded",
                    notes=(
                        f"p50 {median(lat):.1f} ms, p99 {percentile(lat, 99):.1f} ms, "
                        f"{err} errors; baseline = {baseline_name(floor_pair)} "
                        f"{base_rate:.0f} req/s (p50 {median(base_lat):.1f} ms, "
                        f"{base_err} errors)"
                    ),
                )
            )
