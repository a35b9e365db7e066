"""Hot SKU (issue 8): 100 concurrent buyers ordering ONE listing through the HTTP API.

The API is served by its production server, `marketplace serve --workers 2` (uvicorn, two
worker processes: one per core of this machine), on a fresh migrated database; the load
generator (httpx, one keep-alive connection per buyer) runs in this process and shares
the cores with the server and PostgreSQL.

- **hot**: `BUYERS` buyer organizations (one API key each) each place `ORDERS_EACH`
  orders back to back, all at once, for 1-3 units of the same product, whose only listing
  has `HOT_STOCK` units: about 3/4 of the demand, so the listing sells out during the run
  and both sales (201) and refusals (422 `orders.insufficient_supply`) are measured.
- **spread** (baseline, same run, same server): the same buyers with the same quantities,
  but buyer i orders product i, each of the `BUYERS` products with one listing of
  `HOT_STOCK / BUYERS` units (the same share of demand), so no two buyers contend.
- `ROUNDS` rounds of both, on fresh listings, alternating which phase goes first (the
  first phase after a warm-up runs on a slightly different server), summed.

Reported: orders/s (all answers, sales, refusals), p50/p99 latency of every answer, and
the oversell count checked in the database: units reserved beyond stock, reservations that
differ from the order legs, and sales the client saw that the database does not hold
(each must be 0). The ratio hot/spread is the cost of contention on one row.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

import asyncpg
import httpx
from reliability.api import TOMORROW, Api, platform_key

from bench.harness import Result, Section, Services, api_server, asyncpg_dsn, median, percentile

WORKERS = 2
BUYERS = 100
ROUNDS = 2  # each a hot and a spread phase, in alternating order
ORDERS_EACH = 4  # per buyer and phase
HOT_STOCK = 600  # per round; its demand is ~BUYERS * ORDERS_EACH * 2 = 800 units
PER_LISTING = HOT_STOCK // BUYERS
REGION = "35.76.02.1005"


class Compared(TypedDict):
    figure: float
    baseline: float
    ratio: float | None


@dataclass
class Phase:
    """What one phase saw from the client side."""

    label: str
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    sold: int = 0
    refused: int = 0
    wrong: list[str] = field(default_factory=list)
    resent: int = 0  # requests sent again after a dropped connection
    units_sold: dict[str, int] = field(default_factory=dict)  # product id → units (201s)

    @property
    def answered(self) -> int:
        return self.sold + self.refused + len(self.wrong)


def merged(phases: list[Phase], label: str) -> Phase:
    total = Phase(label)
    for phase in phases:
        total.elapsed += phase.elapsed
        total.latencies += phase.latencies
        total.sold += phase.sold
        total.refused += phase.refused
        total.wrong += phase.wrong
        total.resent += phase.resent
        total.units_sold.update(phase.units_sold)
    return total


async def place_all(
    client: httpx.AsyncClient,
    buyer_keys: list[str],
    product_of: list[str],
    quantities: list[list[int]],
    label: str,
) -> Phase:
    """Every buyer places its orders back to back; all buyers at once."""
    phase = Phase(label)
    start_gate = asyncio.Event()

    async def buyer(i: int) -> None:
        headers = {"Authorization": f"Bearer {buyer_keys[i]}"}
        product = product_of[i]
        await start_gate.wait()
        for quantity in quantities[i]:
            body = {
                "lines": [{"product_id": product, "quantity": quantity}],
                "delivery": {"date": TOMORROW, "region_code": REGION, "address": "Dapur umum"},
            }
            request_headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
            started = time.perf_counter()
            for attempt in range(3):
                try:
                    response = await client.post("/v1/orders", json=body, headers=request_headers)
                    break
                except httpx.TransportError:
                    # A keep-alive connection the server closed as it was reused: sent
                    # again with the same Idempotency-Key, so it is placed at most once.
                    phase.resent += 1
                    if attempt == 2:
                        raise
            phase.latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code == 201:
                phase.sold += 1
                phase.units_sold[product] = phase.units_sold.get(product, 0) + quantity
            elif (
                response.status_code == 422
                and response.json().get("code") == "orders.insufficient_supply"
            ):
                phase.refused += 1
            else:
                phase.wrong.append(f"{response.status_code} {response.text[:200]}")

    tasks = [asyncio.create_task(buyer(i)) for i in range(len(buyer_keys))]
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    start_gate.set()
    await asyncio.gather(*tasks)
    phase.elapsed = time.perf_counter() - started
    return phase


async def oversold(
    dsn: str, listings: dict[str, tuple[str, int]], phase: Phase
) -> tuple[int, int, int]:
    """(units beyond stock, units reserved ≠ legs, units the client saw sold ≠ legs)
    over the phase's listings (product id → (listing id, opening stock))."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            SELECT l.id::text AS listing, l.on_hand, l.reserved,
                   coalesce((SELECT sum(g.quantity) FROM order_legs g
                             WHERE g.listing_id = l.id AND g.status <> 'cancelled'), 0) AS legs
            FROM listings l WHERE l.id = ANY($1::uuid[])
            """,
            [uuid.UUID(listing) for listing, _ in listings.values()],
        )
    finally:
        await conn.close()
    by_listing = {r["listing"]: r for r in rows}
    beyond = reserved_off = client_off = 0
    for product, (listing, stock) in listings.items():
        row = by_listing[listing]
        legs = int(row["legs"])
        beyond += max(0, legs - stock) + max(0, int(row["reserved"]) - int(row["on_hand"]))
        reserved_off += abs(int(row["reserved"]) - legs)
        client_off += abs(phase.units_sold.get(product, 0) - legs)
    return beyond, reserved_off, client_off


async def measure(base_url: str, database_url: str, section: Section) -> None:
    api = Api(base_url, platform_key(database_url))
    dsn = asyncpg_dsn(database_url)
    client = httpx.AsyncClient(
        base_url=base_url,
        timeout=120,
        # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them.
        limits=httpx.Limits(
            max_connections=BUYERS + 10, max_keepalive_connections=BUYERS + 10, keepalive_expiry=3
        ),
    )
    try:
        started = time.perf_counter()
        _, seller = await api.organization("cooperative", "seller", REGION)
        buyers = [(await api.organization("food_stall", "buyer", REGION))[1] for _ in range(BUYERS)]
        hot: list[dict[str, tuple[str, int]]] = []
        spread: list[dict[str, tuple[str, int]]] = []
        for _ in range(ROUNDS):
            product = await api.product()
            hot.append({product: (await api.listing(seller, product, HOT_STOCK), HOT_STOCK)})
            listings: dict[str, tuple[str, int]] = {}
            for _ in range(BUYERS):
                product = await api.product()
                listings[product] = (await api.listing(seller, product, PER_LISTING), PER_LISTING)
            spread.append(listings)
        warm_product = await api.product()
        await api.listing(seller, warm_product, 100_000)
        section.note(
            f"Set up through the API in {time.perf_counter() - started:.1f} s: {BUYERS} buyer "
            f"organizations (food stalls, one buyer key each), one cooperative seller, "
            f"{ROUNDS * (BUYERS + 1) + 1} products with one listing each. Server: `marketplace "
            f"serve --workers {WORKERS}` (uvicorn, {WORKERS} processes, production settings, "
            "access log off)."
        )
        rng = random.Random(8)
        quantities = [
            [[rng.randint(1, 3) for _ in range(ORDERS_EACH)] for _ in range(BUYERS)]
            for _ in range(ROUNDS)
        ]
        demand = sum(sum(map(sum, q)) for q in quantities)
        # Warm both server processes' pools and caches, and every buyer's key (its first
        # use is recorded), with one order each on another product.
        await place_all(client, buyers, [warm_product] * BUYERS, [[1]] * BUYERS, "warm-up")
        hot_phases: list[Phase] = []
        spread_phases: list[Phase] = []
        for n in range(ROUNDS):  # alternate which goes first
            [hot_product] = hot[n]
            for kind in ("spread", "hot") if n % 2 == 0 else ("hot", "spread"):
                if kind == "hot":
                    products = [hot_product] * BUYERS
                    hot_phases.append(
                        await place_all(client, buyers, products, quantities[n], "hot")
                    )
                else:
                    products = list(spread[n])
                    spread_phases.append(
                        await place_all(client, buyers, products, quantities[n], "spread")
                    )
        hot_phase, spread_phase = merged(hot_phases, "hot"), merged(spread_phases, "spread")
        hot_beyond, hot_reserved_off, hot_client_off = await oversold(
            dsn, {k: v for listings in hot for k, v in listings.items()}, hot_phase
        )
        spread_beyond, spread_reserved_off, spread_client_off = await oversold(
            dsn, {k: v for listings in spread for k, v in listings.items()}, spread_phase
        )
    finally:
        await client.aclose()
        await api.close()

    def rates(count: Callable[[Phase], int]) -> Compared:
        """A per-second figure of both phases: hot against the spread baseline."""
        hot, spread = (count(p) / p.elapsed for p in (hot_phase, spread_phase))
        return Compared(figure=hot, baseline=spread, ratio=hot / spread if spread else None)

    def latency(phase: Phase) -> str:
        return f"p50 {median(phase.latencies):.0f} ms, p99 {percentile(phase.latencies, 99):.0f} ms"

    section.note(
        f"{ROUNDS} rounds, each a spread and a hot phase (round 1 spread first, round 2 hot "
        f"first); a phase is {BUYERS} buyers x {ORDERS_EACH} orders of 1-3 units, all buyers "
        f"at once, each buyer's orders back to back ({BUYERS * ORDERS_EACH} orders; "
        f"{demand} units demanded over the rounds), the same quantities in both phases of a "
        f"round. Hot: one listing of {HOT_STOCK} units per round. Spread: {BUYERS} listings "
        f"of {PER_LISTING} units per round, buyer i on listing i. Figures: both rounds "
        "together (answers / summed phase time)."
    )
    for phase in (spread_phase, hot_phase):
        section.note(
            f"- {phase.label}: {phase.answered} answers in {phase.elapsed:.1f} s; "
            f"{phase.sold} placed ({sum(phase.units_sold.values())} units), {phase.refused} "
            f"refused (insufficient supply), {len(phase.wrong)} other answers"
            + (f" (first: `{phase.wrong[0]}`)" if phase.wrong else "")
            + f"; {latency(phase)}; {phase.resent} sent again after a dropped connection"
        )
    section.add(
        Result(
            name=f"hot SKU: orders/s answered, {BUYERS} buyers on one listing",
            unit="orders/s",
            target="recorded (baseline: the same buyers on 100 listings)",
            notes=f"hot {latency(hot_phase)}; spread {latency(spread_phase)}",
            **rates(lambda p: p.answered),
        )
    )
    section.add(
        Result(
            name="hot SKU: orders/s placed (201)",
            unit="orders/s",
            target="recorded",
            notes=f"{hot_phase.sold} vs {spread_phase.sold} orders placed",
            **rates(lambda p: p.sold),
        )
    )
    section.add(
        Result(
            name="hot SKU: orders/s refused (422 insufficient supply)",
            unit="orders/s",
            target="recorded",
            notes=(
                f"{hot_phase.refused} vs {spread_phase.refused} refused; other answers "
                f"{len(hot_phase.wrong)} hot, {len(spread_phase.wrong)} spread (must be 0)"
            ),
            **rates(lambda p: p.refused),
        )
    )
    section.add(
        Result(
            name="hot SKU: p99 latency of an order, one listing",
            figure=percentile(hot_phase.latencies, 99),
            unit="ms",
            baseline=percentile(spread_phase.latencies, 99),
            ratio=percentile(hot_phase.latencies, 99) / percentile(spread_phase.latencies, 99),
            target="recorded",
            notes=(
                f"p50 {median(hot_phase.latencies):.0f} ms vs "
                f"{median(spread_phase.latencies):.0f} ms spread"
            ),
        )
    )
    section.add(
        Result(
            name="hot SKU: oversold units (database)",
            figure=hot_beyond + hot_reserved_off + hot_client_off,
            unit="units",
            baseline=spread_beyond + spread_reserved_off + spread_client_off,
            target="0",
            notes=(
                f"units in legs beyond stock {hot_beyond}, reserved ≠ legs {hot_reserved_off}, "
                f"client-seen sales ≠ legs {hot_client_off} (spread: {spread_beyond}, "
                f"{spread_reserved_off}, {spread_client_off})"
            ),
        )
    )


def run(services: Services, section: Section) -> None:
    with (
        services.database("hot_sku") as database_url,
        api_server(
            database_url, services.redis_url, workers=WORKERS, log_name="hot-sku-api"
        ) as api,
    ):
        asyncio.run(measure(api.base_url, database_url, section))
