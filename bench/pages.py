"""The kitchen manager's pages (issue #15, issue #19 item 7): what each weighs on a phone's
first load, and the server time of the pages that wrap one API call, against that call.

On the demo data set (`marketplace serve` seeds nothing here: the benchmark seeds the demo
organizations, people and catalogue itself and places one order through the API), served
by `marketplace serve` as a subprocess. Chromium (Debian's, the browser tests' one) at
360x740 signs in as the demo kitchen manager.

- Weight: compressed bytes of the HTML and everything it loads, cache cleared and
  disabled (`bench.page_weight`). Baseline: the page shell measured in the same run — the
  not-found page, which is the layout (header, footer, CSS, htmx) around one sentence, so
  the ratio is what a page weighs against the least any page can. Budget: under 100 KB.
- Server time: p50 of `ROUNDS` sequential requests per pair, interleaved page / API, the
  page with the signed-in session's cookie, the API with the kitchen's key; both gzip.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import sys
import time
import uuid
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from bench.harness import (
    LOGS_DIR,
    Result,
    Section,
    ServerProcess,
    Services,
    free_port,
    median,
    percentile,
    server_env,
)
from bench.page_weight import first_load
from marketplace.demo import DEMO_PASSWORD, seed_demo, seed_demo_people

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
VIEWPORT = {"width": 360, "height": 740}
KITCHEN = "sppg-magersari-1"
BUDGET_KB = 100.0
ROUNDS = 60
PAGES = [
    "/hari-ini",
    "/belanja",
    "/belanja?q=beras&wilayah=semua",
    "/keranjang",
    "/pesanan",
    "/rutin",
    "/anggaran",
]
# (page, the API call it wraps): the same search, the same list; and the demo order's
# page against `GET /v1/orders/{id}` (`order_pair`). The cart (`/keranjang`) wraps none:
# it lives in the page session, the API has no cart.
PAIRS = [
    ("/belanja?q=beras&wilayah=semua", "/v1/listings?q=beras&in_stock=true&limit=21"),
    ("/pesanan", "/v1/orders?limit=20"),
]
# An order no one has: the not-found page, inside the layout (header, footer, CSS, htmx).
SHELL = "/pesanan/00000000-0000-0000-0000-000000000000"


def pages_server(database_url: str, redis_url: str) -> ServerProcess:
    # Development: the session cookie is not Secure, so plain-HTTP loopback keeps it.
    port = free_port()
    return ServerProcess(
        [sys.executable, "-m", "marketplace.cli", "serve", "--port", str(port), "--workers", "1"],
        port=port,
        env=server_env(database_url, redis_url, MARKETPLACE_ENV="development"),
        ready_path="/readyz",
        log=LOGS_DIR / "pages.log",
    )


def _shown(path: str) -> str:
    """A path as the report names it: an id as `{id}`, so rows compare across runs."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", path)


def order_pair(order_id: str) -> tuple[str, str]:
    return (f"/pesanan/{order_id}", f"/v1/orders/{order_id}")


async def place_an_order(base_url: str, key: str) -> str:
    """The demo kitchen's order, placed through the API: its id."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as api:
        me = (await api.get("/v1/me")).json()
        found = (await api.get("/v1/listings", params={"q": "beras medium", "limit": 1})).json()
        tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()
        body = {
            "lines": [{"product_id": found["items"][0]["product"]["id"], "quantity": 10}],
            "delivery": {
                "date": tomorrow,
                "region_code": me["organization"]["region_code"],
                "address": "Dapur SPPG",
            },
        }
        placed = await api.post(
            "/v1/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        if placed.status_code != 201:
            raise RuntimeError(f"the demo order was refused: {placed.text}")
        order_id: str = placed.json()["id"]
        return order_id


async def server_times(
    base_url: str,
    cookies: dict[str, str],
    key: str,
    pairs: list[tuple[str, str]],
    section: Section,
) -> None:
    async with (
        httpx.AsyncClient(base_url=base_url, cookies=cookies) as pages,
        httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as api,
    ):
        for page_path, api_path in pairs:
            samples: dict[str, list[float]] = {"page": [], "api": []}
            for round_no in range(ROUNDS + 5):
                for side, client, path in (("page", pages, page_path), ("api", api, api_path)):
                    started = time.perf_counter()
                    answer = await client.get(path)
                    elapsed = (time.perf_counter() - started) * 1000
                    answer.raise_for_status()
                    if round_no >= 5:  # the first rounds warm caches and prepared statements
                        samples[side].append(elapsed)
            page_p50, api_p50 = median(samples["page"]), median(samples["api"])
            section.add(
                Result(
                    name=f"server time {_shown(page_path)}",
                    figure=page_p50,
                    unit="ms p50",
                    baseline=api_p50,
                    ratio=page_p50 / api_p50,
                    notes=(
                        f"vs GET {_shown(api_path)}; "
                        f"page p99 {percentile(samples['page'], 99):.1f} ms"
                    ),
                )
            )


async def measure(base_url: str, phone: str, key: str, order_id: str, section: Section) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            context = await browser.new_context(viewport=VIEWPORT)
            page = await context.new_page()
            weights: dict[str, tuple[int, int]] = {
                "/masuk": await first_load(page, f"{base_url}/masuk")
            }
            await page.fill("input[name=phone]", phone)
            await page.fill("input[name=password]", DEMO_PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base_url}/hari-ini")
            shell, shell_requests = await first_load(page, base_url + SHELL)
            for path in PAGES:
                weights[path] = await first_load(page, base_url + path)
            section.add(
                Result(
                    name="page weight: the shell (not-found page)",
                    figure=shell / 1024,
                    unit="KB",
                    target=f"< {BUDGET_KB:.0f} KB",
                    notes=f"{shell_requests} requests",
                )
            )
            for path, (total, requests) in weights.items():
                section.add(
                    Result(
                        name=f"page weight {path}",
                        figure=total / 1024,
                        unit="KB",
                        baseline=shell / 1024,
                        ratio=total / shell,
                        target=f"< {BUDGET_KB:.0f} KB",
                        notes=f"{requests} requests; {total / 1024 / BUDGET_KB:.0%} of the budget",
                    )
                )
            cookies = {c["name"]: c["value"] for c in await context.cookies() if "value" in c}
        finally:
            await browser.close()
    await server_times(base_url, cookies, key, [*PAIRS, order_pair(order_id)], section)


def run(services: Services, section: Section) -> None:
    with services.database("pages") as url:
        keys = asyncio.run(seed_demo(url))
        people = asyncio.run(seed_demo_people(url))
        key = next(k for slug, _role, k in keys if slug == KITCHEN)
        phone = next(p for slug, _role, p in people if slug == KITCHEN)
        with pages_server(url, services.redis_url) as server:
            order_id = asyncio.run(place_an_order(server.base_url, key))
            asyncio.run(measure(server.base_url, phone, key, order_id, section))
