"""Load for the capacity benchmark (`bench/capacity.py`): the lanes (a kitchen, its key
and its own products), two ways of placing an order (HTTP through a server; the captured
statements replayed through asyncpg), and the closed and open loops that drive them.

Every input (request bodies, idempotency keys, replay scripts with fresh ids) is built by
`Arm.prepare` before a phase's timer starts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import time
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from bench.harness import median, percentile
from bench.orders import Replay
from bench.seed import KITCHEN_REGION, SeededProduct
from marketplace.accounts.domain import Principal
from marketplace.orders.schemas import DeliveryIn, OrderCreate, OrderLineIn

REPLAY = "replay"
ADDRESS = "SPPG Prajurit Kulon, Jl. Empunala No. 12, Kota Mojokerto"


@dataclass
class Lane:
    """One kitchen, its key and its own 20 products."""

    principal: Principal
    key: str
    products: list[SeededProduct]


def tomorrow() -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo("Asia/Jakarta")).date() + dt.timedelta(days=1)


def order_of(lane: Lane, rng: random.Random) -> OrderCreate:
    return OrderCreate(
        lines=[OrderLineIn(product_id=p.id, quantity=rng.randint(5, 60)) for p in lane.products],
        delivery=DeliveryIn(date=tomorrow(), region_code=KITCHEN_REGION, address=ADDRESS),
        notes="menu: nasi, telur, sayur bayam, tempe",
    )


def body_of(lane: Lane, rng: random.Random) -> bytes:
    order = order_of(lane, rng)
    lines = [{"product_id": str(x.product_id), "quantity": x.quantity} for x in order.lines]
    delivery = {"date": tomorrow().isoformat(), "region_code": KITCHEN_REGION, "address": ADDRESS}
    return json.dumps({"lines": lines, "delivery": delivery, "notes": order.notes}).encode()


@dataclass
class Phase:
    """What one arm did in one phase (or several, merged)."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms
    failures: list[str] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)  # 1-minute load average at the end

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return median(self.latencies) if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    def merge(self, other: Phase) -> None:
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.failures += other.failures
        self.loads += other.loads

    def line(self) -> str:
        load = f", load {max(self.loads):.1f}" if self.loads else ""
        failed = f", {len(self.failures)} failed ({self.failures[0]})" if self.failures else ""
        return (
            f"{self.rate:.1f} orders/s, p50 {self.p50:.0f} ms, p99 {self.p99:.0f} ms "
            f"({len(self.latencies)} orders{failed}{load})"
        )


class Arm:
    """A way of placing orders: `prepare(lanes)` builds one order's inputs per entry (of
    that lane) outside the timer, `send(i)` places order i, returning a failure or None."""

    name: str

    def prepare(self, lanes: Sequence[int]) -> None:
        raise NotImplementedError

    async def send(self, i: int) -> str | None:
        raise NotImplementedError


class HttpArm(Arm):
    def __init__(self, name: str, base_url: str, lanes: Sequence[Lane]) -> None:
        self.name = name
        self.lanes = lanes
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=120,
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200,
                                keepalive_expiry=3),
        )  # fmt: skip
        self.rng = random.Random(name)
        self.requests: list[tuple[bytes, dict[str, str]]] = []

    def prepare(self, lanes: Sequence[int]) -> None:
        self.requests = []
        for k in lanes:
            lane = self.lanes[k]
            headers = {
                "Authorization": f"Bearer {lane.key}",
                "Idempotency-Key": uuid.uuid4().hex,
                "Content-Type": "application/json",
            }
            self.requests.append((body_of(lane, self.rng), headers))

    async def send(self, i: int) -> str | None:
        body, headers = self.requests[i]
        for attempt in range(3):
            try:
                response = await self.client.post("/v1/orders", content=body, headers=headers)
                break
            except httpx.TransportError as exc:
                # A keep-alive connection closed as it was reused: the same
                # Idempotency-Key again, so the order is placed at most once.
                if attempt == 2:
                    return f"{type(exc).__name__}"
        if response.status_code != 201:
            return f"{response.status_code} {response.text[:160]}"
        return None

    async def close(self) -> None:
        await self.client.aclose()


class ReplayArm(Arm):
    def __init__(self, pool: asyncpg.Pool, replays: Sequence[Replay]) -> None:
        self.name = REPLAY
        self.pool = pool
        self.replays = replays
        self.scripts: list[list[tuple[str, Any, bool]]] = []

    def prepare(self, lanes: Sequence[int]) -> None:
        self.scripts = [self.replays[k].script() for k in lanes]

    async def send(self, i: int) -> str | None:
        async with self.pool.acquire() as conn, conn.transaction():
            for statement, params, many in self.scripts[i]:
                if many:
                    await conn.executemany(statement, params)
                else:
                    await conn.fetch(statement, *params)
        return None


async def timed(arm: Arm, i: int, due: float, phase: Phase) -> None:
    failure = await arm.send(i)
    if failure is None:
        phase.latencies.append((time.perf_counter() - due) * 1000)
    else:
        phase.failures.append(failure)


async def closed_loop(arm: Arm, clients: int, orders: int) -> Phase:
    """`clients` clients, client k on lane k, each placing `orders / clients` orders back
    to back."""
    each = orders // clients
    arm.prepare([k for k in range(clients) for _ in range(each)])
    phase = Phase()

    async def client(k: int) -> None:
        for j in range(each):
            await timed(arm, k * each + j, time.perf_counter(), phase)

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    phase.seconds = time.perf_counter() - started
    phase.loads.append(os.getloadavg()[0])
    return phase


async def open_loop(arm: Arm, rate: float, seconds: float, *, lanes: int) -> Phase:
    """Order i is due at start + i / rate and sent then, whatever is still unanswered;
    its latency counts from when it was due."""
    count = max(1, round(rate * seconds))
    arm.prepare([i % lanes for i in range(count)])  # order i on lane i mod lanes
    phase = Phase()
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await timed(arm, i, due, phase)

    await asyncio.gather(*(one(i) for i in range(count)))
    # The offered rate's time: a server that fell behind shows it in its latencies.
    phase.seconds = count / rate
    phase.loads.append(os.getloadavg()[0])
    return phase
