"""Rate-limit checks: a brute force of API keys is braked, and the battery's normal load
(every other check's requests through `Api`) never sees a 429."""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx

from marketplace.settings import load_settings
from reliability.api import Api
from reliability.checks import Count

BEYOND_ALLOWANCE = 270  # wrong keys sent past the allowance, all of which must be 429
CONCURRENCY = 10


async def brute_force(api: Api) -> list[Count]:
    """The bad-key allowance and `BEYOND_ALLOWANCE` more wrong keys from one address,
    `CONCURRENCY` at a time. The address is
    named by `X-Forwarded-For` through the trusted loopback proxy (the battery's servers
    run with `TRUSTED_PROXIES=127.0.0.1/32`), so the brake falls on it alone.

    Counts: wrong keys answered 401 beyond the bad-key allowance (plus the requests in
    flight when it was reached); 429s without `Retry-After`, `RateLimit`,
    `RateLimit-Policy` or the `rate_limited` code; and answers other than 200 to a key
    the address had used successfully before, asked during the brake."""
    allowance = load_settings().rate_limit_bad_keys_per_address
    guesses = allowance + BEYOND_ALLOWANCE
    address = f"203.0.113.{random.randint(1, 254)}"
    _, good = await api.organization("food_stall", "buyer")
    forwarded = {"X-Forwarded-For": address}
    statuses: list[int] = []
    malformed: list[str] = []
    async with httpx.AsyncClient(base_url=str(api.client.base_url), timeout=60) as client:
        first = await client.get("/v1/me", headers=api.auth(good, **forwarded))
        known_refused = int(first.status_code != 200)

        async def guess() -> None:
            key = f"mk_{uuid.uuid4().hex[:12]}_{uuid.uuid4().hex}"
            response = await client.get("/v1/me", headers=api.auth(key, **forwarded))
            statuses.append(response.status_code)
            if response.status_code == 429:
                body = response.json()
                if (
                    body.get("code") != "rate_limited"
                    or not response.headers.get("retry-after", "").isdigit()
                    or "ratelimit" not in response.headers
                    or "ratelimit-policy" not in response.headers
                ):
                    malformed.append(f"{response.headers} {body}")

        for _ in range(-(-guesses // CONCURRENCY)):
            await asyncio.gather(*(guess() for _ in range(CONCURRENCY)))
        for _ in range(5):
            again = await client.get("/v1/me", headers=api.auth(good, **forwarded))
            known_refused += int(again.status_code != 200)
    unauthorized = statuses.count(401)
    refused = statuses.count(429)
    others = len(statuses) - unauthorized - refused
    detail = (
        f"{len(statuses)} wrong keys from {address}, {CONCURRENCY} at a time: {unauthorized} "
        f"answered 401, {refused} refused 429 (allowance {allowance} + {CONCURRENCY} in "
        f"flight), {others} other answers"
    )
    return [
        Count(
            "wrong keys not braked by the rate limit (401 past the allowance)",
            max(0, unauthorized - allowance - CONCURRENCY) + others,
            detail,
        ),
        Count(
            "429s without Retry-After, RateLimit headers or the rate_limited code",
            len(malformed),
            detail,
            malformed[:3],
        ),
        Count(
            "a key used before from that address refused during the brake",
            known_refused,
            "1 request before the brute force, 5 after it",
        ),
    ]


def normal_load(api: Api) -> Count:
    return Count(
        "answers refused by a rate limit under the battery's normal load (429)",
        len(api.rate_limited),
        "every request of the checks above sent through the battery's client (default limits)",
        api.rate_limited[:5],
    )
