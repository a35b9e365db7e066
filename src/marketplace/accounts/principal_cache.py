"""Per-process cache of authenticated API keys, invalidated across processes through Redis.

Authenticating every request with a database round trip cost about as much as the
catalogue search it guarded. An API process keeps `key hash → Principal` for keys it has
seen, and every process subscribes at start-up to `INVALIDATION_CHANNEL`:

- revoking a key publishes its id after the commit; each process drops it, so the next
  request with that key goes to the database and is refused;
- the cache is used only while the subscription is up: before the first subscription,
  after a lost Redis connection (until re-subscribed) and while any published message
  may still be unread on the subscriber's socket, requests authenticate against the
  database as before; a re-subscription flushes the cache (what was missed is unknown);
- a subscription that has been quiet for `PROBE_INTERVAL` is probed with a PING; no
  PONG within the probe timeout counts as a lost connection: a stalled Redis (SIGSTOP,
  a network black hole) keeps the socket open and would otherwise look subscribed while
  a revocation published elsewhere could never arrive;
- every entry also expires after a short TTL, the backstop for a key changed outside
  the API (SQL by hand, a crashed process between commit and publish).

A principal is immutable apart from revocation (a key's role and its organization's kind
never change), so revocation is the only event published; `invalidate_organization` and
`flush` exist for future organization-wide changes (suspension).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import select
import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import structlog

from marketplace.accounts.domain import Principal

log = structlog.get_logger(__name__)

INVALIDATION_CHANNEL = "marketplace:auth:invalidate"
DEFAULT_TTL_SECONDS = 30.0
MAX_ENTRIES = 10_000
# How long closing a subscription may take before it is dropped.
_CLOSE_TIMEOUT = 1.0
_RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
PROBE_INTERVAL = 1.0
DEFAULT_PROBE_TIMEOUT = 2.0


class RedisUnresponsive(ConnectionError):
    """The subscribed server did not answer a PING in time."""


class CachedKey(msgspec.Struct):
    principal: Principal
    last_used_at: dt.datetime | None
    expires_at: float


class Invalidation(msgspec.Struct, frozen=True, omit_defaults=True):
    """A published change: one key, every key of an organization, or everything."""

    api_key_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    everything: bool = False


_encode = msgspec.json.encode
_decode_invalidation = msgspec.json.Decoder(Invalidation).decode


class PrincipalCache:
    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
        probe_interval: float = PROBE_INTERVAL,
        probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
    ) -> None:
        self.ttl = ttl_seconds
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, CachedKey] = {}
        # Bumped by every invalidation: a database look-up that started before one may
        # not put what it read (it may be the very key just revoked).
        self.generation = 0
        self._subscriber: Any = None  # redis PubSub while subscribed, else None

    # --- the request path ----------------------------------------------------------

    @property
    def live(self) -> bool:
        """Subscribed to invalidations (the only state in which the cache is trusted)."""
        return self.ttl > 0 and self._subscriber is not None

    def get(self, key_hash: str) -> CachedKey | None:
        if not self.live or self._unread_invalidations():
            return None
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            del self._entries[key_hash]
            return None
        return entry

    def put(
        self,
        key_hash: str,
        principal: Principal,
        last_used_at: dt.datetime | None,
        *,
        generation: int,
    ) -> None:
        """Cache what the database said, unless an invalidation came in since the read."""
        if not self.live or generation != self.generation:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # rare: far more live keys than one process serves
        self._entries[key_hash] = CachedKey(
            principal=principal, last_used_at=last_used_at, expires_at=self._clock() + self.ttl
        )

    def mark_used(self, key_hash: str, when: dt.datetime) -> None:
        entry = self._entries.get(key_hash)
        if entry is not None:
            entry.last_used_at = when

    # --- invalidation ----------------------------------------------------------------

    def apply(self, change: Invalidation) -> None:
        self.generation += 1
        if change.everything:
            self._entries.clear()
            return
        doomed = [
            h
            for h, e in self._entries.items()
            if e.principal.api_key_id == change.api_key_id
            or e.principal.organization_id == change.organization_id
        ]
        for key_hash in doomed:
            del self._entries[key_hash]

    def invalidate_key(self, api_key_id: uuid.UUID) -> None:
        self.apply(Invalidation(api_key_id=api_key_id))

    def flush(self) -> None:
        self.apply(Invalidation(everything=True))

    def __len__(self) -> int:
        return len(self._entries)

    def _unread_invalidations(self) -> bool:
        """Whether an invalidation may be waiting on the subscriber's connection, unread.

        Once a revocation's response has left another process, the message is in our
        socket (or its stream buffer; see `publish_invalidation`) even if our listener
        has not run yet; while anything is there, the database decides.
        """
        try:
            connection = self._subscriber.connection
            reader, writer = connection._reader, connection._writer
            if reader is None or writer is None or len(reader._buffer):
                return True
            sock = writer.get_extra_info("socket")
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable)
        except Exception:  # an unexpected connection shape: don't trust the cache
            return True

    # --- the subscriber ----------------------------------------------------------------

    async def run(self, redis: Any) -> None:
        """Subscribe and apply invalidations until cancelled; re-subscribe on errors."""
        if self.ttl <= 0:
            return
        failures = 0
        while True:
            delay = 0.0
            pubsub = redis.pubsub()
            try:
                await pubsub.subscribe(INVALIDATION_CHANNEL)
                # The confirmation proves the subscription is in place before we trust
                # the cache; anything revoked while we were away is unknown: flush.
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is not None and message.get("type") == "subscribe":
                        break
                self.flush()
                self._subscriber = pubsub
                failures = 0
                log.info("principal_cache_subscribed", channel=INVALIDATION_CHANNEL)
                await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("principal_cache_subscription_lost", error=repr(exc))
                delay = _RECONNECT_DELAYS[min(failures, len(_RECONNECT_DELAYS) - 1)]
                failures += 1
            finally:
                self._subscriber = None
                self.flush()
                # Bounded: closing a subscription whose read was just cancelled can wait
                # on that read's connection for good, and shutdown would wait with it.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(_CLOSE_TIMEOUT):
                        await pubsub.aclose()
            await asyncio.sleep(delay)

    async def _listen(self, pubsub: Any) -> None:
        """Apply messages as they come; probe a quiet subscription (see module doc)."""
        ping_sent_at: float | None = None
        while True:
            message = await pubsub.get_message(timeout=self.probe_interval)
            now = time.monotonic()
            if ping_sent_at is not None and now - ping_sent_at > self.probe_timeout:
                raise RedisUnresponsive(f"no PONG within {self.probe_timeout} s")
            if message is None:
                if ping_sent_at is None:
                    await pubsub.ping()
                    ping_sent_at = now
                continue
            kind = message.get("type")
            if kind == "pong":
                ping_sent_at = None
            elif kind == "subscribe":
                # The client reconnected and re-subscribed by itself: whatever was
                # published meanwhile is unknown.
                self.flush()
            elif kind == "message":
                try:
                    self.apply(_decode_invalidation(message["data"]))
                except msgspec.DecodeError:
                    log.warning("principal_cache_bad_message", data=repr(message["data"]))
                    self.flush()


async def publish_invalidation(redis: Any, change: Invalidation) -> None:
    """Tell every API process (this one included, through its subscription).

    Redis answers PUBLISH and writes the message to the subscribers in the same pass of
    its event loop, in no promised order; a PING answered afterwards was read in a later
    pass, so once it returns every subscriber's socket holds the message (see
    `PrincipalCache._unread_invalidations`) and the next request anywhere sees it.
    """
    await redis.publish(INVALIDATION_CHANNEL, _encode(change))
    await redis.ping()
