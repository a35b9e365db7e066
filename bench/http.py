"""HTTP read throughput (issue 8): the API under load vs a minimal Litestar app.

The API is served by its production server, `marketplace serve --workers 2` (uvicorn,
2 worker processes: one per core of this machine), and the minimal app
(`bench.minimal_app`) by uvicorn the same way, in the same run. The load generator is
an asyncio (uvloop) client in this process with `CONNECTIONS` keep-alive connections
issuing GETs back to back for `SECONDS` after a warm-up. It shares the 2 cores with
the servers (and PostgreSQL), so the figures are for the whole box, loopback only.

Endpoints: `GET /v1/listings/{id}` as a kitchen's buyer key (authentication + one
read), `GET /livez` of the same app (framework and middleware, no database), and the
minimal app's `GET /ping`.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import uvloop

from bench.harness import (
    Result,
    Section,
    Services,
    api_server,
    asyncpg_dsn,
    median,
    minimal_server,
    percentile,
)
from bench.search import seed
from bench.seed import kitchen_with_key

WORKERS = 2
CONNECTIONS = 32
SECONDS = 10.0
WARMUP_SECONDS = 2.0


async def load(
    base_url: str, path: str, headers: dict[str, str], seconds: float
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

    warm = time.perf_counter() + WARMUP_SECONDS
    await asyncio.gather(*(worker(warm, False) for _ in range(CONNECTIONS)))
    started = time.perf_counter()
    await asyncio.gather(*(worker(started + seconds, True) for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - started
    return len(latencies), errors, latencies, elapsed


def run_load(
    base_url: str, path: str, headers: dict[str, str], seconds: float
) -> tuple[int, int, list[float], float]:
    return uvloop.run(load(base_url, path, headers, seconds))


async def some_listing(database_url: str) -> str:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return str(
            await conn.fetchval(
                "SELECT id FROM listings WHERE status = 'active' ORDER BY id OFFSET 5000 LIMIT 1"
            )
        )
    finally:
        await conn.close()


def run(services: Services, section: Section) -> None:
    with services.database("http") as database_url:
        asyncio.run(seed(database_url))
        _, key = asyncio.run(kitchen_with_key(database_url))
        listing_id = asyncio.run(some_listing(database_url))
        headers = {"Authorization": f"Bearer {key}"}
        section.note(
            f"Load: {CONNECTIONS} keep-alive HTTP/1.1 connections (asyncio/uvloop generator in "
            f"the benchmark process), closed loop, {SECONDS:.0f} s after "
            f"{WARMUP_SECONDS:.0f} s warm-up; servers with {WORKERS} uvicorn workers; "
            "database of 100,000 listings."
        )
        with minimal_server(workers=WORKERS, log_name="http-minimal") as minimal:
            m_done, m_err, m_lat, m_elapsed = run_load(minimal.base_url, "/ping", {}, SECONDS)
        minimal_rate = m_done / m_elapsed
        section.add(
            Result(
                name=f"http: minimal Litestar GET /ping ({WORKERS} workers)",
                figure=minimal_rate,
                unit="req/s",
                notes=(
                    f"p50 {median(m_lat):.1f} ms, p99 {percentile(m_lat, 99):.1f} ms, "
                    f"{m_err} errors"
                ),
            )
        )
        with api_server(
            database_url, services.redis_url, workers=WORKERS, log_name="http-api"
        ) as server:
            cases = [
                (f"GET /v1/listings/{{id}} (auth + read, {WORKERS} workers)",
                 f"/v1/listings/{listing_id}", headers),
                (f"GET /livez (no database, {WORKERS} workers)", "/livez", {}),
            ]  # fmt: skip
            for label, path, hdrs in cases:
                done, err, lat, elapsed = run_load(server.base_url, path, hdrs, SECONDS)
                rate = done / elapsed
                section.add(
                    Result(
                        name=f"http: API {label}",
                        figure=rate,
                        unit="req/s",
                        baseline=minimal_rate,
                        ratio=rate / minimal_rate,
                        target="recorded (no target in issue 8)",
                        notes=(
                            f"p50 {median(lat):.1f} ms, p99 {percentile(lat, 99):.1f} ms, "
                            f"{err} errors; baseline = minimal app, same server and workers"
                        ),
                    )
                )
