"""API rate limits against a real Redis: per key, per address without a key, bad keys per
address (a brute force is refused before its keys are looked at), shared by processes,
failing open when Redis is away; and the client address behind trusted proxies."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from marketplace.client_address import address_of, parse_networks
from marketplace.jobs import connect_redis
from marketplace.settings import Settings, load_settings
from tests.support import Actors, assert_problem

AppFactory = Callable[..., AbstractAsyncContextManager[AsyncTestClient[Litestar]]]


@pytest.fixture
async def limited_app(settings: Settings) -> AppFactory:
    """Apps of their own with small limits, on the suite's Redis, buckets emptied first."""
    assert settings.redis_url is not None
    redis = connect_redis(settings.redis_url, timeout=2)
    async for key in redis.scan_iter("rl:*"):
        await redis.delete(key)
    await redis.aclose()

    @asynccontextmanager
    async def make(**limits: Any) -> AsyncIterator[AsyncTestClient[Litestar]]:
        from marketplace.app import create_app

        app = create_app(msgspec.structs.replace(settings, **limits))
        async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
            yield client

    return make


def _policy(response: Any) -> tuple[str, int, int]:
    found = re.fullmatch(r'"([a-z-]+)";q=(\d+);w=(\d+)', response.headers["ratelimit-policy"])
    assert found, response.headers
    return found.group(1), int(found.group(2)), int(found.group(3))


def _remaining(response: Any) -> int:
    found = re.fullmatch(r'"[a-z-]+";r=(\d+);t=(\d+)', response.headers["ratelimit"])
    assert found, response.headers
    assert 1 <= int(found.group(2)) <= 60
    return int(found.group(1))


def _assert_refused(response: Any, policy: str) -> None:
    body = assert_problem(response, 429, "rate_limited")
    assert body["extra"]["policy"] == policy
    assert body["request_id"] == response.headers["x-request-id"]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert _policy(response)[0] == policy
    assert _remaining(response) == 0


async def test_each_key_has_its_own_limit(actors: Actors, limited_app: AppFactory) -> None:
    one, other = await actors.org(), await actors.org()
    async with limited_app(rate_limit_per_key=5) as client:
        answers = [await client.get("/v1/me", headers=one.headers) for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        assert [_remaining(a) for a in answers] == [4, 3, 2, 1, 0]
        assert _policy(answers[0]) == ("key", 5, 60)
        _assert_refused(await client.get("/v1/me", headers=one.headers), "key")
        assert (await client.get("/v1/me", headers=other.headers)).status_code == 200


async def test_the_count_is_shared_by_processes(actors: Actors, limited_app: AppFactory) -> None:
    buyer = await actors.org()
    async with (
        limited_app(rate_limit_per_key=4) as first,
        limited_app(rate_limit_per_key=4) as second,
    ):
        for client in (first, second, first, second):
            assert (await client.get("/v1/me", headers=buyer.headers)).status_code == 200
        _assert_refused(await second.get("/v1/me", headers=buyer.headers), "key")


async def test_requests_without_a_key_are_limited_per_address(limited_app: AppFactory) -> None:
    async with limited_app(rate_limit_per_address=3) as client:
        statuses = [(await client.get("/v1/me")).status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        _assert_refused(await client.get("/v1/me"), "address")
        # Only the API is counted: health, pages and static files are not.
        for _ in range(5):
            assert (await client.get("/livez")).status_code == 200
            assert "ratelimit" not in (await client.get("/livez")).headers


async def test_a_brute_force_of_keys_is_refused_before_keys_are_looked_at(
    actors: Actors, limited_app: AppFactory
) -> None:
    known, unused = await actors.org(), await actors.org()
    async with limited_app(rate_limit_bad_keys_per_address=3) as client:
        assert (await client.get("/v1/me", headers=known.headers)).status_code == 200
        for n in range(3):
            bad = {"Authorization": f"Bearer mk_guess{n}_{'x' * 30}"}
            assert (await client.get("/v1/me", headers=bad)).status_code == 401
        guess = {"Authorization": "Bearer mk_guess9_" + "y" * 30}
        _assert_refused(await client.get("/v1/me", headers=guess), "bad-keys")
        # A right key never used from here is refused too: the answer tells nothing.
        _assert_refused(await client.get("/v1/me", headers=unused.headers), "bad-keys")
        # The key this address used successfully keeps working.
        assert (await client.get("/v1/me", headers=known.headers)).status_code == 200


async def test_limits_off_count_nothing(actors: Actors, limited_app: AppFactory) -> None:
    buyer = await actors.org()
    async with limited_app(
        rate_limit_per_key=0, rate_limit_per_address=0, rate_limit_bad_keys_per_address=0
    ) as client:
        response = await client.get("/v1/me", headers=buyer.headers)
        assert response.status_code == 200
        assert "ratelimit" not in response.headers


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_without_redis_requests_are_served_and_counted_as_fail_open(
    actors: Actors, limited_app: AppFactory
) -> None:
    buyer = await actors.org()
    dead = f"redis://127.0.0.1:{_closed_port()}/0"
    async with limited_app(
        redis_url=dead, redis_timeout_seconds=0.5, rate_limit_per_key=1
    ) as client:
        answers = [await client.get("/v1/me", headers=buyer.headers) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert all("ratelimit" not in a.headers for a in answers)
        limiter = client.app.state.rate_limiter
        assert limiter.fail_opens >= 3


def _scope(peer: str, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "client": (peer, 4711),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }


@pytest.mark.parametrize(
    ("trusted", "peer", "headers", "expected"),
    [
        ((), "203.0.113.9", [("X-Forwarded-For", "198.51.100.1")], "203.0.113.9"),
        (("10.0.0.0/8",), "203.0.113.9", [("X-Forwarded-For", "198.51.100.1")], "203.0.113.9"),
        (("10.0.0.0/8",), "10.1.2.3", [("X-Forwarded-For", "198.51.100.1")], "198.51.100.1"),
        # The client's own forgery on the left is skipped: the first untrusted from the right.
        (
            ("10.0.0.0/8",),
            "10.1.2.3",
            [("X-Forwarded-For", "1.2.3.4, 198.51.100.1, 10.9.9.9")],
            "198.51.100.1",
        ),
        (
            ("10.0.0.0/8",),
            "10.1.2.3",
            [("Forwarded", 'for=1.2.3.4, for="[2001:db8::7]:443";proto=https')],
            "2001:db8::7",
        ),
        (("10.0.0.0/8",), "10.1.2.3", [("Forwarded", "for=192.0.2.60:8080")], "192.0.2.60"),
        (("10.0.0.0/8",), "10.1.2.3", [("X-Forwarded-For", "garbage, 10.4.4.4")], "10.4.4.4"),
        (("10.0.0.0/8",), "10.1.2.3", [], "10.1.2.3"),
        (("::1/128",), "::1", [("X-Forwarded-For", "198.51.100.1")], "198.51.100.1"),
    ],
)
def test_the_client_address(
    trusted: tuple[str, ...], peer: str, headers: list[tuple[str, str]], expected: str
) -> None:
    assert address_of(_scope(peer, *headers), trusted) == expected


def test_trusted_proxies_are_read_from_the_environment() -> None:
    assert load_settings({}).trusted_proxies == ()
    env = {"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1 fd00::/8"}
    assert load_settings(env).trusted_proxies == ("10.0.0.0/8", "192.168.1.1", "fd00::/8")
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300'"):
        parse_networks("10.0.0.300")


def test_limits_are_read_from_the_environment() -> None:
    defaults = load_settings({})
    assert (defaults.rate_limit_per_key, defaults.rate_limit_per_address) == (6000, 600)
    assert (defaults.rate_limit_bad_keys_per_address, defaults.rate_limit_window_seconds) == (
        30,
        60,
    )
    env = {"RATE_LIMIT_PER_KEY": "0", "RATE_LIMIT_WINDOW_SECONDS": "10"}
    assert load_settings(env).rate_limit_per_key == 0
    assert load_settings(env).rate_limit_window_seconds == 10
    with pytest.raises(ValueError, match="RATE_LIMIT_PER_ADDRESS"):
        load_settings({"RATE_LIMIT_PER_ADDRESS": "-1"})
