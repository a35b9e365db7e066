"""Capacity (#19 item 6): 20-line orders through `marketplace serve --workers 2`, uvicorn
against Granian, against the raw-statement ceiling, all in the same run.

- Seeds `LANES` x 20 products (10 listings each, stock that never runs out), 200 sellers
  and one MBG kitchen with its own buyer key per lane. Lane k always orders its own 20
  products: orders of different lanes never lock the same listing, so no figure here is
  contention (that is `hot_sku`).
- Servers: both `marketplace serve --workers 2 --server uvicorn` and `… --server granian`
  run side by side on the same database (production settings, access log at WARNING as
  in the other HTTP benchmarks, rate limits out of the way), plus one `marketplace worker`
  process, as production runs it (its own Deployment, not `serve --with-worker`): the
  outbox jobs every order enqueues are handled while the load runs.
- The ceiling: the statements one in-process placement of each lane's order sends
  (captured at the driver, `bench.orders.Counters`), replayed with fresh ids through
  plain asyncpg (`bench.orders.Replay`), one transaction per order, on a pool of
  connections, each phase's scripts built before its timer. It carries no HTTP, no
  authentication, idempotency record, rate limit or job enqueue: what a perfect server
  around the same SQL would do.
- Closed loop at 1, 2, 4, 8, 16 clients (client k on lane k, orders back to back):
  `CLOSED_ORDERS` orders per phase, `ROUNDS` rounds, each round the three arms (uvicorn,
  Granian, replay) in a rotating order. orders/s, p50, p99.
- Open loop: arrivals at a fixed rate, stepping up through `RATES`; each step `STEP_SECONDS`
  long for each arm in a rotating order; latency counted from the time a request was due
  to be sent (not when the client got round to it), so a server that falls behind is
  charged for the queue it builds (no coordinated omission). An arm stops stepping after
  two failing rates in a row (p99 ≥ 100 ms; each failing step is run twice and judged on
  both runs' orders); its highest passing rate is its capacity, then one more step at
  twice that rate reports p99 there.

The load generator (httpx in this process) shares the 2 cores with the servers and
PostgreSQL; its CPU is charged to HTTP arms and, much less, to the replay.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

import asyncpg

from bench.capacity_load import (
    REPLAY,
    Arm,
    HttpArm,
    Lane,
    Phase,
    ReplayArm,
    closed_loop,
    open_loop,
    order_of,
)
from bench.harness import (
    LOGS_DIR,
    ROOT,
    Result,
    Section,
    ServerProcess,
    Services,
    api_server,
    asyncpg_dsn,
    server_env,
    stop_process,
)
from bench.orders import PER_PRODUCT, SELLERS, Counters, Replay, known_ids, orderable_products
from bench.orders import seed as seed_products
from bench.seed import KITCHEN_REGION, SeededProduct
from bench.seed import kitchen_with_key as make_kitchen
from marketplace.db import UnitOfWork, create_engine, create_session_factory
from marketplace.orders.placement import OrderPlacement

WORKERS = 2
LINES = 20
LANES = 16
CLIENTS = (1, 2, 4, 8, 16)
CLOSED_ORDERS = 128  # per phase: 128 / clients each
ROUNDS = 3
RATES = (5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 100, 120, 150, 200, 250, 300, 400, 500, 650)
STEP_SECONDS = 4.0
STEP_ORDERS = 120
P99_LIMIT_MS = 100.0
SERVERS = ("uvicorn", "granian")


async def seed(database_url: str) -> list[SeededProduct]:
    """Products enough for every lane to have 20 of its own, 10 listings each (seeded as
    the orders benchmark seeds them). A few catalogue rows (SPHP rice) are not for
    kitchens: spare ones are seeded."""
    return await seed_products(database_url, products=LANES * LINES + 20, random_seed=0.6)


async def capture(database_url: str, lanes: Sequence[Lane]) -> list[Replay]:
    """Each lane's placement statements, as `bench.orders` captures them (after one
    warm-up placement per lane, so caches are warm as on a running server)."""
    engine = create_engine(database_url)
    counters = Counters(engine)
    counters.attach()
    factory = create_session_factory(engine)
    rng = random.Random(6)
    try:
        existing = await known_ids(asyncpg_dsn(database_url))
        replays = []
        for lane in lanes:
            for capturing in (False, True):
                counters.capture = [] if capturing else None
                async with factory() as session:
                    uow = UnitOfWork(session, None)
                    await OrderPlacement(uow).place(lane.principal, order_of(lane, rng))
                    await uow.commit()
            assert counters.capture is not None
            replays.append(Replay(counters.capture, existing))
        return replays
    finally:
        counters.detach()
        await engine.dispose()


def step_seconds(rate: float) -> float:
    """At least `STEP_SECONDS`, and long enough for `STEP_ORDERS` orders: a p99 of fewer
    is little more than the slowest one."""
    return max(STEP_SECONDS, STEP_ORDERS / rate)


def rotated(items: Sequence[Arm], n: int) -> list[Arm]:
    return [*items[n % len(items) :], *items[: n % len(items)]]


def worker_process(database_url: str, redis_url: str) -> subprocess.Popen[bytes]:
    """`marketplace worker`, as production's worker Deployment runs it."""
    LOGS_DIR.mkdir(parents=True, exist_ok=True)
    with (LOGS_DIR / "capacity-worker.log").open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "marketplace.cli", "worker"],
            env=server_env(database_url, redis_url),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def measure(
    database_url: str, lanes: list[Lane], servers: dict[str, ServerProcess], section: Section
) -> None:
    replays = await capture(database_url, lanes)
    section.note(
        f"Captured {len(replays[0].captured)} statements per placement (lane 1); the "
        "replay sends them in one transaction per order (BEGIN and COMMIT on top)."
    )
    pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=LANES, max_size=40)
    http_arms = [HttpArm(name, servers[name].base_url, lanes) for name in SERVERS]
    arms: list[Arm] = [*http_arms, ReplayArm(pool, replays)]
    try:
        for arm in arms:  # warm every lane's key, pool and prepared statements
            await closed_loop(arm, LANES, 2 * LANES)
        await closed(arms, section)
        await opened(arms, section)
    finally:
        for http_arm in http_arms:
            await http_arm.close()
        await pool.close()


async def closed(arms: list[Arm], section: Section) -> None:
    lines = [
        f"Closed loop: {CLOSED_ORDERS} orders per phase, {ROUNDS} rounds; each round the "
        "arms in a rotating order. Per arm: orders/s, p50, p99 (max load average)."
    ]
    rates: dict[str, list[float]] = {name: [] for name in SERVERS}
    for clients in CLIENTS:
        merged = {arm.name: Phase() for arm in arms}
        for n in range(ROUNDS):
            for arm in rotated(arms, n + clients):
                merged[arm.name].merge(await closed_loop(arm, clients, CLOSED_ORDERS))
        ceiling = merged[REPLAY]
        lines.append(
            f"- {clients} client(s): "
            + "; ".join(f"{name} {phase.line()}" for name, phase in merged.items())
        )
        print(lines[-1], flush=True)
        for name in SERVERS:
            phase = merged[name]
            rates[name].append(phase.rate)
            section.add(
                Result(
                    name=f"capacity: closed loop, {clients} client(s), {name}",
                    figure=phase.rate,
                    unit="orders/s",
                    baseline=ceiling.rate,
                    ratio=phase.rate / ceiling.rate,
                    target="recorded (ceiling: the same statements via asyncpg)",
                    notes=(
                        f"p50 {phase.p50:.0f} / p99 {phase.p99:.0f} ms vs ceiling "
                        f"{ceiling.p50:.0f} / {ceiling.p99:.0f} ms; load "
                        f"{max(phase.loads):.1f}"
                        + (f"; {len(phase.failures)} failed" if phase.failures else "")
                    ),
                )
            )
    section.note("\n".join(lines))
    granian, uvicorn = (
        statistics.geometric_mean(rates["granian"]),
        statistics.geometric_mean(rates["uvicorn"]),
    )
    section.add(
        Result(
            name="capacity: closed loop, granian vs uvicorn (geometric mean over client counts)",
            figure=granian,
            unit="orders/s",
            baseline=uvicorn,
            ratio=granian / uvicorn,
            target="recorded: the faster is serve's default",
            notes="per client count: "
            + ", ".join(
                f"{c}: {g / u:.2f}"
                for c, g, u in zip(CLIENTS, rates["granian"], rates["uvicorn"], strict=True)
            ),
        )
    )


async def opened(arms: list[Arm], section: Section) -> None:
    best: dict[str, tuple[float, Phase] | None] = {arm.name: None for arm in arms}
    stepping = list(arms)
    failed_in_a_row = {arm.name: 0 for arm in arms}
    lines = [
        f"Open loop: each step {STEP_SECONDS:g} s (at least {STEP_ORDERS} orders) of arrivals "
        "at a fixed rate per arm, the arms in a rotating order; latency from each order's "
        "due time. An arm stops after two failing steps in a row "
        f"(p99 ≥ {P99_LIMIT_MS:.0f} ms; a failing step is run twice and judged on both runs "
        "together)."
    ]
    for n, rate in enumerate(RATES):
        if not stepping:
            break
        for arm in rotated(stepping, n):
            phase = await open_loop(arm, rate, step_seconds(rate), lanes=LANES)
            if phase.p99 >= P99_LIMIT_MS or phase.failures:
                # One stall on a shared machine should not end the search: a failing
                # step runs again and is judged on both runs' orders together.
                phase.merge(await open_loop(arm, rate, step_seconds(rate), lanes=LANES))
            lines.append(f"- {rate}/s {arm.name}: {phase.line()}")
            print(lines[-1], flush=True)
            if phase.p99 < P99_LIMIT_MS and not phase.failures:
                best[arm.name] = (rate, phase)
                failed_in_a_row[arm.name] = 0
            else:
                # On a shared machine one marginal step (p99 105 ms, then 81 ms at a rate
                # above it) is noise more often than a limit: the second failure ends it.
                failed_in_a_row[arm.name] += 1
                if failed_in_a_row[arm.name] == 2:
                    stepping.remove(arm)
    doubled: dict[str, Phase] = {}
    for arm in arms:
        found = best[arm.name]
        if found is not None:
            twice = 2 * found[0]
            doubled[arm.name] = await open_loop(arm, twice, step_seconds(twice), lanes=LANES)
            lines.append(f"- twice {found[0]}/s, {arm.name}: {doubled[arm.name].line()}")
            print(lines[-1], flush=True)
    section.note("\n".join(lines))
    ceiling = best[REPLAY]
    for name in SERVERS:
        found = best[name]
        if found is None:
            section.note(f"{name}: no rate of {RATES[0]}/s or more kept p99 under 100 ms.")
            continue
        top, phase = found
        at_twice = doubled[name]
        ceiling_rate = ceiling[0] if ceiling else None
        section.add(
            Result(
                name=f"capacity: open loop, highest rate with p99 < 100 ms, {name}",
                figure=top,
                unit="orders/s",
                baseline=ceiling_rate,
                ratio=top / ceiling_rate if ceiling_rate else None,
                target="≥ 0.6 of the ceiling and ≥ 60 orders/s (idle 2-core machine)",
                notes=(
                    f"p50 {phase.p50:.0f} / p99 {phase.p99:.0f} ms there (load "
                    f"{max(phase.loads):.1f}); at twice it ({2 * top:g}/s) p99 "
                    f"{at_twice.p99:.0f} ms, {at_twice.rate:.0f} answered/s, "
                    f"{len(at_twice.failures)} failed"
                    + (
                        f"; ceiling p99 {ceiling[1].p99:.0f} ms at {ceiling[0]}/s"
                        + (f", {doubled[REPLAY].p99:.0f} ms at twice" if REPLAY in doubled else "")
                        + (
                            " (the top step: the ceiling is higher)"
                            if ceiling[0] == RATES[-1]
                            else ""
                        )
                        if ceiling
                        else ""
                    )
                ),
            )
        )
    found_u, found_g = best["uvicorn"], best["granian"]
    if found_u and found_g:
        section.add(
            Result(
                name="capacity: open-loop capacity, granian vs uvicorn",
                figure=found_g[0],
                unit="orders/s",
                baseline=found_u[0],
                ratio=found_g[0] / found_u[0],
                target="recorded: the faster is serve's default",
                notes=(
                    f"p99 at twice capacity: granian {doubled['granian'].p99:.0f} ms, "
                    f"uvicorn {doubled['uvicorn'].p99:.0f} ms"
                ),
            )
        )


async def make_lanes(database_url: str, products: list[SeededProduct]) -> list[Lane]:
    orderable = orderable_products(products)
    lanes = []
    for k in range(LANES):
        principal, key = await make_kitchen(database_url)
        lanes.append(Lane(principal, key, orderable[k * LINES : (k + 1) * LINES]))
    return lanes


def run(services: Services, section: Section) -> None:
    with services.database("capacity") as database_url:
        started = time.perf_counter()
        products = asyncio.run(seed(database_url))
        lanes = asyncio.run(make_lanes(database_url, products))
        section.note(
            f"Seeded {len(products)} products, {SELLERS} sellers, {PER_PRODUCT} listings per "
            f"product, {LANES} MBG kitchens in {KITCHEN_REGION} (one buyer key each, no budget "
            f"period), each with {LINES} products of its own, in "
            f"{time.perf_counter() - started:.1f} s. Servers: `marketplace serve --workers "
            f"{WORKERS} --server uvicorn|granian`, side by side, and one `marketplace worker`."
        )
        worker = worker_process(database_url, services.redis_url)
        try:
            with (
                api_server(
                    database_url,
                    services.redis_url,
                    workers=WORKERS,
                    log_name="capacity-uvicorn",
                    server="uvicorn",
                ) as uvicorn_server,
                api_server(
                    database_url,
                    services.redis_url,
                    workers=WORKERS,
                    log_name="capacity-granian",
                    server="granian",
                ) as granian_server,
            ):
                servers = {"uvicorn": uvicorn_server, "granian": granian_server}
                asyncio.run(measure(database_url, lanes, servers, section))
        finally:
            stop_process(worker)
