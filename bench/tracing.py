"""Tracing's cost (#18 item 2): the API with tracing off vs on, served side by side.

Two production servers (`marketplace serve`, one uvicorn worker each) on the same
database: one without `OTEL_EXPORTER_OTLP_ENDPOINT` (off: nothing of tracing installed),
one exporting every span by OTLP/HTTP to a local sink that answers 200 (on: an HTTP
span, the SQL and Redis spans of each request, batched and sent). The load alternates
between them round by round (closed loop, keep-alive connections), so both meet the same
machine; the figure is each one's throughput and p50 over all its rounds.

`BENCH_TRACING_BASELINE_SRC=/path/to/src` adds a third server run from that source tree
(a build without the tracing code, e.g. the main branch's `src`), the baseline for "off
costs nothing".

Endpoint: `GET /v1/listings/{id}` as a kitchen's buyer key (authentication + one read).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.harness import (
    LOGS_DIR,
    Result,
    Section,
    ServerProcess,
    Services,
    free_port,
    median,
    server_env,
)
from bench.http import run_load
from bench.search import seed
from bench.seed import kitchen_with_key

CONNECTIONS = 16
ROUNDS = 4
SECONDS_PER_ROUND = 5.0


class Sink:
    """An OTLP/HTTP receiver that counts what it is sent and answers 200."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                self.rfile.read(length)
                sink.requests += 1
                sink.bytes += length
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Sink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def api(database_url: str, redis_url: str, name: str, **env: str) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        [sys.executable, "-m", "marketplace.cli", "serve", "--port", str(port), "--workers", "1"],
        port=port,
        env=server_env(database_url, redis_url, **env),
        ready_path="/readyz",
        log=LOGS_DIR / f"tracing-{name}.log",
    )


@contextlib.contextmanager
def servers(database_url: str, redis_url: str, sink: Sink) -> Iterator[dict[str, ServerProcess]]:
    cases = {
        "off": api(database_url, redis_url, "off"),
        "on": api(database_url, redis_url, "on", OTEL_EXPORTER_OTLP_ENDPOINT=sink.url),
    }
    baseline_src = os.environ.get("BENCH_TRACING_BASELINE_SRC")
    if baseline_src:
        env = server_env(database_url, redis_url)
        cases["baseline"] = api(
            database_url,
            redis_url,
            "baseline",
            PYTHONPATH=os.pathsep.join([baseline_src, env.get("PYTHONPATH", "")]),
        )
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(server) for name, server in cases.items()}


def run(services: Services, section: Section) -> None:
    with services.database("tracing") as database_url:
        asyncio.run(seed(database_url, listings=2_000, sellers=100))
        _, key = asyncio.run(kitchen_with_key(database_url))
        listing_id = asyncio.run(some_listing_of_few(database_url))
        headers = {"Authorization": f"Bearer {key}"}
        path = f"/v1/listings/{listing_id}"
        section.note(
            f"GET /v1/listings/{{id}}, {CONNECTIONS} keep-alive connections, closed loop; "
            f"{ROUNDS} rounds of {SECONDS_PER_ROUND:.0f} s per server, alternating; one uvicorn "
            "worker per server; 'on' exports to a local OTLP/HTTP sink."
        )
        done: dict[str, int] = {}
        seconds: dict[str, float] = {}
        latencies: dict[str, list[float]] = {}
        errors: dict[str, int] = {}
        with Sink() as sink, servers(database_url, services.redis_url, sink) as running:
            for _ in range(ROUNDS):
                for name, server in running.items():
                    n, err, lat, elapsed = run_load(
                        server.base_url, path, headers, SECONDS_PER_ROUND
                    )
                    done[name] = done.get(name, 0) + n
                    seconds[name] = seconds.get(name, 0.0) + elapsed
                    latencies.setdefault(name, []).extend(lat)
                    errors[name] = errors.get(name, 0) + err
            exported = (sink.requests, sink.bytes)
        rates = {name: done[name] / seconds[name] for name in done}
        base_name = "baseline" if "baseline" in rates else "off"
        for name, rate in rates.items():
            section.add(
                Result(
                    name=f"tracing: API GET /v1/listings/{{id}}, tracing {name}",
                    figure=rate,
                    unit="req/s",
                    baseline=rates[base_name],
                    ratio=rate / rates[base_name],
                    target="recorded",
                    notes=(
                        f"p50 {median(latencies[name]):.2f} ms, {errors[name]} errors; "
                        f"baseline = {base_name}"
                        + (
                            f"; the sink got {exported[0]} exports, {exported[1]:,} bytes"
                            if name == "on"
                            else ""
                        )
                    ),
                )
            )


async def some_listing_of_few(database_url: str) -> str:
    """`bench.http.some_listing` picks the 5,000th; this catalogue has 2,000."""
    import asyncpg

    from bench.harness import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return str(
            await conn.fetchval(
                "SELECT id FROM listings WHERE status = 'active' ORDER BY id OFFSET 500 LIMIT 1"
            )
        )
    finally:
        await conn.close()
