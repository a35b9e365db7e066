"""The battery's outage checks: a PostgreSQL stopped and started, a Redis stalled, while
orders are placed through a real server. Each runs against servers of its own
(`reliability.servers`), so the outage touches nothing the other checks use."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
from bench.harness import api_server, asyncpg_dsn

from reliability import checks
from reliability.api import Api, platform_key
from reliability.processes import WorkerProcess
from reliability.servers import DrillPostgres, DrillRedis


async def _shop(api: Api, buyers: int = 5) -> tuple[str, list[str]]:
    """A product with one well-stocked listing, and buyers: (product id, buyer keys)."""
    product = await api.product()
    _, seller = await api.organization("cooperative", "seller")
    await api.listing(seller, product, 1_000_000)
    return product, [(await api.organization("food_stall", "buyer"))[1] for _ in range(buyers)]


def _unclean(response: httpx.Response | BaseException) -> str | None:
    """What is wrong with an answer given while a server is down: anything but a success,
    a refusal, or 503 with `Retry-After` (no answer at all included)."""
    if isinstance(response, BaseException):
        return repr(response)
    if response.status_code == 503 and response.headers.get("retry-after"):
        return None
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:160]}"
    return None


async def postgres_restart(redis_url: str, cycles: int, down_seconds: float) -> list[checks.Count]:
    """Orders placed by 16 clients without pause while the API's PostgreSQL is stopped
    (`pg_ctl stop -m fast`: its socket is gone) for `down_seconds` and started again,
    `cycles` times: every answer is a success, a refusal or 503 with Retry-After, the
    same processes serve again once it is back, and no order is half-written."""
    with DrillPostgres() as drill:
        url = await asyncio.to_thread(drill.database, "restart")
        key = await asyncio.to_thread(platform_key, url)
        with api_server(url, redis_url, workers=2, log_name="reliability-api-pg-restart") as server:
            api = Api(server.base_url, key)
            try:
                product, buyers = await _shop(api)
                stop = asyncio.Event()
                results: list[httpx.Response | BaseException] = []

                async def client(n: int) -> None:
                    while not stop.is_set():
                        try:
                            results.append(await api.place(buyers[n % len(buyers)], product, 1))
                        except httpx.HTTPError as exc:
                            results.append(exc)
                        await asyncio.sleep(0.02)

                load = [asyncio.create_task(client(n)) for n in range(16)]
                await asyncio.sleep(1)
                for _ in range(cycles):
                    await asyncio.to_thread(drill.stop)
                    await asyncio.sleep(down_seconds)
                    await asyncio.to_thread(drill.start)
                    await asyncio.sleep(2)
                stop.set()
                await asyncio.gather(*load)
                recovered = 0
                for _ in range(10):
                    if (await api.place(buyers[0], product, 1)).status_code == 201:
                        recovered += 1
            finally:
                await api.close()
        partial = await checks.stock_consistent(asyncpg_dsn(url))
    unclean = [problem for r in results if (problem := _unclean(r)) is not None]
    refused = sum(1 for r in results if isinstance(r, httpx.Response) and r.status_code == 503)
    placed = sum(1 for r in results if isinstance(r, httpx.Response) and r.status_code == 201)
    detail = (
        f"{cycles} x PostgreSQL stopped {down_seconds:g} s and started, during "
        f"{len(results)} orders from 16 clients: {placed} placed, {refused} answered 503"
    )
    return [
        checks.Count(
            "orders answered otherwise than 503 + Retry-After while PostgreSQL was down",
            len(unclean),
            detail,
            unclean[:3],
        ),
        checks.Count(
            "orders not served after PostgreSQL restarted (same API processes)",
            10 - recovered,
            detail,
        ),
        checks.Count(
            "partial writes after PostgreSQL restarts (reservations, legs, movement log)",
            sum(c.count for c in partial),
            "; ".join(f"{c.name}: {c.count}" for c in partial),
        ),
    ]


async def redis_stall(database_url: str, stall_seconds: float) -> list[checks.Count]:
    """Redis stopped with SIGSTOP (connections open, nothing answered) for
    `stall_seconds` while orders are placed, with the real worker running: every order
    is answered while Redis is still stopped, the worker lives through it, and every
    event of those orders is handled once Redis answers again (the sweeper's work)."""
    answers: list[tuple[httpx.Response | BaseException, float]] = []
    latencies: list[float] = []
    with (
        DrillRedis() as redis,
        api_server(
            database_url, redis.url, workers=2, log_name="reliability-api-redis-stall"
        ) as server,
    ):
        worker = WorkerProcess(database_url, redis.url, log_name="reliability-worker-stall")
        # Events unhandled for 2 s are swept (30 s in production): the check needn't
        # wait half a minute for what the sweeper will do anyway.
        worker.env["OUTBOX_STALE_AFTER_SECONDS"] = "2"
        await worker.start()
        api = Api(server.base_url, platform_key(database_url))
        try:
            product, buyers = await _shop(api)
            first = await api.place(buyers[0], product, 1)
            if first.status_code != 201:
                raise RuntimeError(f"order before the stall: {first.status_code} {first.text}")
            redis.pause()
            try:
                stalled_at = time.monotonic()

                async def order(n: int) -> None:
                    sent = time.monotonic()
                    try:
                        response: httpx.Response | BaseException = await api.place(
                            buyers[n % len(buyers)], product, 1
                        )
                    except httpx.HTTPError as exc:
                        response = exc
                    answers.append((response, time.monotonic()))
                    latencies.append(time.monotonic() - sent)

                # Orders for all but the last 5 s of the stall, 8 at a time.
                n = 0
                while time.monotonic() - stalled_at < stall_seconds - 5:
                    await asyncio.gather(*(order(n + i) for i in range(8)))
                    n += 8
                await asyncio.sleep(max(0.0, stall_seconds - (time.monotonic() - stalled_at)))
                worker_alive = worker.proc is not None and worker.proc.poll() is None
            finally:
                resumed_at = time.monotonic()
                redis.resume()
            placed = {
                r.json()["id"]
                for r, _ in answers
                if isinstance(r, httpx.Response) and r.status_code == 201
            }
            unhandled = await _wait_events_handled(database_url, placed, limit=60)
        finally:
            await api.close()
            worker.stop()
    held = sum(1 for _, at in answers if at >= resumed_at)
    errors = [
        repr(r) if isinstance(r, BaseException) else f"{r.status_code} {r.text[:160]}"
        for r, _ in answers
        if isinstance(r, BaseException) or r.status_code != 201
    ]
    slowest = max(latencies, default=0.0)
    detail = (
        f"Redis stopped {stall_seconds:g} s; {len(answers)} orders sent during it, "
        f"{len(placed)} placed, the slowest answered in {slowest:.2f} s"
        if not held
        else f"Redis stopped {stall_seconds:g} s; {held} of {len(answers)} orders answered "
        "only after it resumed"
    )
    return [
        checks.Count("orders held until a stalled Redis resumed", held, detail),
        checks.Count(
            "orders not placed (or answered with an error) while Redis was stalled",
            len(errors),
            detail,
            errors[:3],
        ),
        checks.Count("worker exited during the Redis stall", 0 if worker_alive else 1, detail),
        checks.Count(
            "events of orders placed during the stall not handled 60 s after it",
            unhandled,
            f"{len(placed)} orders' order.placed events, swept and handled by the real worker",
        ),
    ]


async def _wait_events_handled(database_url: str, order_ids: set[str], limit: float) -> int:
    """Wait until every `order.placed` event of these orders is handled; how many aren't."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        deadline = time.monotonic() + limit
        while True:
            left = int(
                await conn.fetchval(
                    """SELECT count(*) FROM outbox_events WHERE topic = 'order.placed'
                       AND payload->>'order_id' = ANY($1::text[]) AND handled_at IS NULL""",
                    [str(uuid.UUID(o)) for o in order_ids],
                )
            )
            if not left or time.monotonic() > deadline:
                return left
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
