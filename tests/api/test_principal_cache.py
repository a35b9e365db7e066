"""The per-process principal cache: revocation takes effect on the very next request, in
this process and in any other, and the cache is trusted only while subscribed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from marketplace.accounts.domain import OrganizationKind, Principal, Role
from marketplace.accounts.principal_cache import (
    INVALIDATION_CHANNEL,
    Invalidation,
    PrincipalCache,
)
from marketplace.accounts.service import key_hash_of
from marketplace.settings import Settings
from tests.support import Actor, Actors, assert_problem


async def wait_live(app: Litestar) -> PrincipalCache:
    cache: PrincipalCache = app.state.principal_cache
    for _ in range(200):
        if cache.live:
            return cache
        await asyncio.sleep(0.01)
    raise AssertionError("the principal cache never subscribed")


async def key_id_of(client: AsyncTestClient[Litestar], admin: Actor, member: Actor) -> str:
    keys = (
        await client.get(
            f"/v1/organizations/{admin.organization_id}/api-keys", headers=admin.headers
        )
    ).json()["items"]
    return str(next(k["id"] for k in keys if member.key.startswith(k["prefix"] + "_")))


@pytest.fixture
async def second_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """Another API process: its own app, principal cache and Redis subscription."""
    from marketplace.app import create_app

    async with AsyncTestClient(app=create_app(settings), raise_server_exceptions=False) as c:
        yield c


async def test_a_cached_key_is_refused_on_the_next_request_after_revocation(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    cache = await wait_live(client.app)
    coop = await actors.org("cooperative", "admin")
    viewer = await actors.key_for(coop, "viewer")
    for _ in range(2):
        assert (await client.get("/v1/listings", headers=viewer.headers)).status_code == 200
    cached = cache.get(key_hash_of(viewer.key))
    assert cached is not None
    assert cached.principal.role is Role.VIEWER

    key_id = await key_id_of(client, coop, viewer)
    revoked = await client.delete(f"/v1/api-keys/{key_id}", headers=coop.headers)
    assert revoked.status_code == 200, revoked.text
    assert_problem(
        await client.get("/v1/listings", headers=viewer.headers), 401, "auth.unauthenticated"
    )
    assert cache.get(key_hash_of(viewer.key)) is None


async def test_revocation_in_one_process_is_refused_by_another_on_its_next_request(
    client: AsyncTestClient[Litestar],
    second_client: AsyncTestClient[Litestar],
    actors: Actors,
) -> None:
    first, second = await wait_live(client.app), await wait_live(second_client.app)
    coop = await actors.org("cooperative", "admin")
    viewer = await actors.key_for(coop, "viewer")
    for c in (client, second_client):
        assert (await c.get("/v1/listings", headers=viewer.headers)).status_code == 200
    assert first.get(key_hash_of(viewer.key)) is not None
    assert second.get(key_hash_of(viewer.key)) is not None

    key_id = await key_id_of(client, coop, viewer)
    assert (await client.delete(f"/v1/api-keys/{key_id}", headers=coop.headers)).status_code == 200
    # No waiting: the other process's very next request with the key is refused.
    assert_problem(
        await second_client.get("/v1/listings", headers=viewer.headers),
        401,
        "auth.unauthenticated",
    )
    await asyncio.sleep(0.05)  # and its listener has dropped the key meanwhile
    assert second.get(key_hash_of(viewer.key)) is None
    # Other keys of the organization are unaffected.
    assert (await second_client.get("/v1/listings", headers=coop.headers)).status_code == 200


async def test_an_unread_invalidation_is_not_trusted_to_be_unrelated(
    settings: Settings,
) -> None:
    """A message that has reached the subscriber's socket, but not its listener yet, sends
    requests to the database until the listener has applied it."""
    assert settings.redis_url is not None
    cache = PrincipalCache()
    redis = Redis.from_url(settings.redis_url)
    listener = asyncio.create_task(cache.run(redis))
    publisher = SyncRedis.from_url(settings.redis_url)
    try:
        for _ in range(200):
            if cache.live:
                break
            await asyncio.sleep(0.01)
        p = principal()
        cache.put("h", p, None, generation=cache.generation)
        assert cache.get("h") is not None
        # Published synchronously: the listener task cannot run before we look.
        publisher.publish(INVALIDATION_CHANNEL, msgspec.json.encode(Invalidation()))
        publisher.ping()  # as `publish_invalidation` does: every subscriber has it now
        assert cache.get("h") is None
        await asyncio.sleep(0.05)  # applied: it concerned no cached key
        assert cache.get("h") is not None
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await redis.aclose()
        publisher.close()


async def test_the_cache_flushes_and_stops_trusting_itself_when_redis_is_lost(
    settings: Settings,
) -> None:
    assert settings.redis_url is not None
    cache = PrincipalCache()
    redis = Redis.from_url(settings.redis_url)
    listener = asyncio.create_task(cache.run(redis))
    try:
        for _ in range(200):
            if cache.live:
                break
            await asyncio.sleep(0.01)
        cache.put("h", principal(), None, generation=cache.generation)
        await cache._subscriber.connection.disconnect()  # the connection drops
        for _ in range(200):
            if not cache.live:
                break
            await asyncio.sleep(0.01)
        assert cache.get("h") is None
        assert len(cache) == 0
        for _ in range(300):  # re-subscribes by itself, empty
            if cache.live:
                break
            await asyncio.sleep(0.01)
        assert cache.live
        assert len(cache) == 0
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await redis.aclose()


def principal() -> Principal:
    return Principal(
        api_key_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        organization_kind=OrganizationKind.KITCHEN,
        role=Role.BUYER,
    )


_QUIET, _PEER = socket.socketpair()  # nothing is ever written to _QUIET


class _Subscribed:
    """A stand-in subscriber whose connection never has anything unread."""

    class connection:  # noqa: N801
        class _reader:  # noqa: N801
            _buffer = b""

        class _writer:  # noqa: N801
            @staticmethod
            def get_extra_info(name: str) -> object:
                return _QUIET


def test_the_cache_is_not_used_unless_subscribed() -> None:
    cache = PrincipalCache()
    p = principal()
    cache.put("h", p, None, generation=cache.generation)
    assert cache.get("h") is None
    assert len(cache) == 0


def test_a_lookup_that_raced_an_invalidation_is_not_cached() -> None:
    cache = PrincipalCache()
    cache._subscriber = _Subscribed
    p = principal()
    generation = cache.generation
    cache.invalidate_key(p.api_key_id)  # arrives while the database read is under way
    cache.put("h", p, None, generation=generation)
    assert cache.get("h") is None
    cache.put("h", p, None, generation=cache.generation)
    assert cache.get("h") is not None


def test_entries_expire_after_the_ttl_and_invalidate_by_key_or_organization() -> None:
    now = [100.0]
    cache = PrincipalCache(30, clock=lambda: now[0])
    cache._subscriber = _Subscribed
    a, b = principal(), principal()
    used = dt.datetime.now(dt.UTC)
    cache.put("a", a, used, generation=cache.generation)
    cache.put("b", b, None, generation=cache.generation)
    assert cache.get("a") is not None
    assert cache.get("a").last_used_at == used
    cache.apply(Invalidation(organization_id=b.organization_id))
    assert cache.get("b") is None
    assert cache.get("a") is not None
    now[0] += 30
    assert cache.get("a") is None


def test_a_zero_ttl_turns_the_cache_off() -> None:
    cache = PrincipalCache(0)
    cache._subscriber = _Subscribed
    cache.put("h", principal(), None, generation=cache.generation)
    assert not cache.live
    assert cache.get("h") is None
