"""API rate limits, shared by every process through Redis, failing open.

Every `/v1/` request is counted, before any handler runs, in one Redis round trip (a Lua
script) against one of three policies, each a fixed window of `RATE_LIMIT_WINDOW_SECONDS`
that starts at the bucket's first request:

- `key`: requests per API key (`RATE_LIMIT_PER_KEY`), the key known by a hash only;
- `address`: requests without any key per client address (`RATE_LIMIT_PER_ADDRESS`);
- `bad-keys`: requests whose key turned out bad (answered 401) per client address
  (`RATE_LIMIT_BAD_KEYS_PER_ADDRESS`). Past it, every key from that address is refused
  before it is looked at — so a brute force learns nothing more — except keys the
  address used successfully in the last `GOOD_KEY_SECONDS` (an office behind one NAT
  keeps working while a misconfigured neighbour is braked).

A refusal is a 429 problem (`rate_limited`) with `Retry-After`; every counted answer
carries the IETF draft's `RateLimit-Policy: "key";q=6000;w=60` and
`RateLimit: "key";r=5999;t=60` (draft-ietf-httpapi-ratelimit-headers-09).

Redis away or slow (each call is bounded by `REDIS_TIMEOUT`): the request is served
uncounted (fail-open, counted in `marketplace_rate_limit_fail_open_total`), and for
`BREAKER_SECONDS` after a failure no call is tried, so a stalled Redis costs one request
per process per breaker period the timeout, not every request.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from redis.exceptions import RedisError

from marketplace.client_address import address_of
from marketplace.http import PROBLEM_MEDIA_TYPE, Problem, localize, type_uri
from marketplace.metrics import RATE_LIMIT_FAIL_OPEN, RATE_LIMIT_REFUSALS
from marketplace.outages import REDIS_UNAVAILABLE
from marketplace.request_ids import current_request_id
from marketplace.settings import Settings

log = structlog.get_logger(__name__)
# Away, slow, or refusing (OOM, BUSY, a replica read-only): the request is served.
_FAILURES: tuple[type[BaseException], ...] = (*REDIS_UNAVAILABLE, TimeoutError, RedisError)

# Set in the ASGI scope by the principal's provider once a key was found good.
AUTHENTICATED = "marketplace.authenticated"
GOOD_KEY_SECONDS = 600
BREAKER_SECONDS = 5.0
PREFIX = "/v1/"

# KEYS: counted bucket, the address's bad-key bucket, the key's good mark.
# ARGV: the bucket's limit (0: not counted), the bad-key limit (0: off), window ms, "1"
# when a key was presented. Returns {allowed, count, ms to reset, good mark TTL, policy}
# with policy 0 uncounted, 1 the bucket's, 2 bad-keys.
_CHECK = """
local window = tonumber(ARGV[3])
local mark = -2
if ARGV[4] == '1' then
  mark = redis.call('TTL', KEYS[3])
  local bad_limit = tonumber(ARGV[2])
  if mark < 0 and bad_limit > 0 then
    local bad = tonumber(redis.call('GET', KEYS[2]) or '0')
    if bad >= bad_limit then
      local ttl = redis.call('PTTL', KEYS[2])
      if ttl < 0 then ttl = window end
      return {0, bad, ttl, mark, 2}
    end
  end
end
local limit = tonumber(ARGV[1])
if limit == 0 then return {1, 0, window, mark, 0} end
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  ttl = window
end
if n > limit then return {0, n, ttl, mark, 1} end
return {1, n, ttl, mark, 1}
"""
# KEYS: a bucket. ARGV: window ms. Counts one, starting the window at the first.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    policy: str | None  # None: nothing was counted
    limit: int
    remaining: int
    reset_seconds: int
    good_mark_ttl: int

    def headers(self, window: int) -> list[tuple[bytes, bytes]]:
        if self.policy is None:
            return []
        return [
            (b"ratelimit-policy", f'"{self.policy}";q={self.limit};w={window}'.encode()),
            (b"ratelimit", f'"{self.policy}";r={self.remaining};t={self.reset_seconds}'.encode()),
        ]


class RateLimiter:
    def __init__(self, redis: Any, settings: Settings) -> None:
        self.redis = redis
        self.window = settings.rate_limit_window_seconds
        self.per_key = settings.rate_limit_per_key
        self.per_address = settings.rate_limit_per_address
        self.bad_keys = settings.rate_limit_bad_keys_per_address
        self.trusted_proxies = settings.trusted_proxies
        self.timeout = settings.redis_timeout_seconds
        self._check = redis.register_script(_CHECK)
        self._count = redis.register_script(_COUNT)
        self._open_until = 0.0
        self.fail_opens = 0  # this limiter's (the metric is the process's)

    @property
    def enabled(self) -> bool:
        return bool(self.per_key or self.per_address or self.bad_keys)

    async def check(self, key_hash: str | None, address: str) -> Decision | None:
        """The verdict on one request, or None when Redis could not be asked (fail open)."""
        if key_hash is not None:
            keys = [f"rl:key:{key_hash}", f"rl:bad:{address}", f"rl:good:{key_hash}"]
            limit, policy = self.per_key, "key"
        else:
            keys = [f"rl:addr:{address}", f"rl:bad:{address}", "rl:good:-"]
            limit, policy = self.per_address, "address"
        args = [limit, self.bad_keys, self.window * 1000, int(key_hash is not None)]
        result = await self._guarded(self._check(keys=keys, args=args), verdict=True)
        if result is None:
            return None
        allowed, count, reset_ms, mark_ttl, which = (int(x) for x in result)
        if which == 2:
            policy, limit = "bad-keys", self.bad_keys
        reset = max(1, math.ceil(reset_ms / 1000))
        decision = Decision(
            allowed=bool(allowed),
            policy=policy if which else None,
            limit=limit,
            remaining=max(0, limit - count),
            reset_seconds=reset,
            good_mark_ttl=mark_ttl,
        )
        if not decision.allowed:
            RATE_LIMIT_REFUSALS.labels(policy).inc()
        return decision

    async def bad_key(self, address: str) -> None:
        if self.bad_keys:
            await self._guarded(self._count(keys=[f"rl:bad:{address}"], args=[self.window * 1000]))

    async def good_key(self, key_hash: str) -> None:
        await self._guarded(self.redis.set(f"rl:good:{key_hash}", 1, ex=GOOD_KEY_SECONDS))

    async def _guarded(self, call: Any, *, verdict: bool = False) -> Any:
        """`call`'s result, or None when Redis failed (or failed lately); a failed
        verdict is a request served uncounted (a fail-open)."""
        if time.monotonic() < self._open_until:
            call.close()
            if verdict:
                self.fail_opens += 1
                RATE_LIMIT_FAIL_OPEN.inc()
            return None
        try:
            async with asyncio.timeout(self.timeout):
                return await call
        except _FAILURES as exc:
            self._open_until = time.monotonic() + BREAKER_SECONDS
            if verdict:
                self.fail_opens += 1
                RATE_LIMIT_FAIL_OPEN.inc()
            log.warning("rate_limit_fail_open", error=repr(exc), for_seconds=BREAKER_SECONDS)
            return None


def key_hash_of(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            return hashlib.blake2b(value.strip(), digest_size=12).hexdigest()
    return None


def _problem(scope: Any, decision: Decision) -> tuple[bytes, str]:
    if decision.policy == "bad-keys":
        detail = (
            "Too many requests with a wrong API key from your address; "
            f"retry in {decision.reset_seconds} s."
        )
    elif decision.policy == "key":
        detail = f"Too many requests with this API key; retry in {decision.reset_seconds} s."
    else:
        detail = (
            f"Too many requests without an API key from your address; "
            f"retry in {decision.reset_seconds} s."
        )
    problem = Problem(
        type=type_uri("rate_limited"),
        title="Too many requests",
        status=429,
        code="rate_limited",
        detail=detail,
        instance=scope["path"],
        extra={"policy": decision.policy, "retry_after_seconds": decision.reset_seconds},
        request_id=current_request_id(),
    )
    language = localize(problem, scope)
    return msgspec.json.encode(problem), language


class RateLimits:
    """ASGI wrapper: counts `/v1/` requests and refuses those over a limit."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        limiter: RateLimiter | None = None
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            limiter = getattr(scope["app"].state, "rate_limiter", None)
        if limiter is None or not limiter.enabled:
            await self.app(scope, receive, send)
            return
        key_hash = key_hash_of(scope["headers"])
        address = address_of(scope, limiter.trusted_proxies)
        decision = await limiter.check(key_hash, address)
        if decision is not None and not decision.allowed:
            await _refuse(scope, send, decision, limiter.window)
            return
        status = 0
        extra = decision.headers(limiter.window) if decision is not None else []

        async def send_with_limits(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if extra:
                    message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_limits)
        if key_hash is None:
            return
        if status == 401:
            await limiter.bad_key(address)
        elif (
            scope.get(AUTHENTICATED)
            and decision is not None
            and decision.good_mark_ttl < GOOD_KEY_SECONDS // 2
        ):
            await limiter.good_key(key_hash)


async def _refuse(scope: Any, send: Any, decision: Decision, window: int) -> None:
    body, language = _problem(scope, decision)
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(decision.reset_seconds).encode()),
                (b"content-language", language.encode()),
                (b"vary", b"Accept-Language"),
                *decision.headers(window),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
