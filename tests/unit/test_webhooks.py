"""Pure webhook rules: signing, the retry schedule, and the target-address guard."""

from __future__ import annotations

import datetime as dt
import ipaddress

import httpx
import pytest

from marketplace.webhooks.domain import (
    MAX_ATTEMPTS,
    AttemptResult,
    DeliveryState,
    DisabledReason,
    InvalidWebhookUrl,
    UnresolvableWebhookUrl,
    UnsafeWebhookUrl,
    decide,
    parse_retry_after,
    parse_target,
    retry_delay,
)
from marketplace.webhooks.domain.signing import generate_secret, secret_key, sign, signature_headers
from marketplace.webhooks.sender import IPAddress, TargetGuard, pinned_request

NOW = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)


def test_signature_matches_the_standard_webhooks_reference_vector() -> None:
    # The example from the Standard Webhooks specification and reference libraries.
    assert (
        sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_secrets_are_fresh_and_well_formed() -> None:
    a, b = generate_secret(), generate_secret()
    assert a != b
    assert a.startswith("whsec_")
    assert len(secret_key(a)) == 32
    headers = signature_headers(a, "evt_1", 1700000000, b"{}")
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,")


def test_retry_schedule_backs_off_then_gives_up() -> None:
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS)]
    assert delays[:3] == [
        dt.timedelta(seconds=5),
        dt.timedelta(seconds=30),
        dt.timedelta(minutes=2),
    ]
    assert all(d is not None for d in delays)
    assert delays == sorted(d for d in delays if d is not None)
    assert retry_delay(MAX_ATTEMPTS) is None
    assert retry_delay(1, jitter=1.0) == dt.timedelta(seconds=5.5)


def result(status: int | None, **kw: object) -> AttemptResult:
    return AttemptResult(
        status_code=status, error=None if status == 200 else "x", duration_ms=3, **kw
    )  # type: ignore[arg-type]


def test_decisions() -> None:
    assert decide(result(200), 1, NOW).state is DeliveryState.DELIVERED
    assert decide(result(299), 8, NOW).state is DeliveryState.DELIVERED
    gone = decide(result(410), 1, NOW)
    assert gone.state is DeliveryState.FAILED
    assert gone.disable_endpoint is DisabledReason.GONE
    retry = decide(result(500), 1, NOW)
    assert retry.state is DeliveryState.PENDING
    assert retry.next_attempt_at == NOW + dt.timedelta(seconds=5)
    assert decide(result(None), 2, NOW).next_attempt_at == NOW + dt.timedelta(seconds=30)
    assert decide(result(302), 1, NOW).state is DeliveryState.PENDING  # redirects aren't followed
    last = decide(result(500), MAX_ATTEMPTS, NOW)
    assert last.state is DeliveryState.FAILED
    assert last.exhausted
    assert last.disable_endpoint is None
    # Retry-After is honoured when longer than the backoff, up to a cap.
    slow = decide(result(429, retry_after=dt.timedelta(minutes=3)), 1, NOW)
    assert slow.next_attempt_at == NOW + dt.timedelta(minutes=3)
    capped = decide(result(503, retry_after=dt.timedelta(days=30)), 1, NOW)
    assert capped.next_attempt_at == NOW + dt.timedelta(hours=6)
    assert parse_retry_after("120") == dt.timedelta(seconds=120)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    "url",
    ["ftp://a.example/x", "https://", "//a.example/x", "a.example", "https://u:p@a.example/"],
)
def test_malformed_urls(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        parse_target(url)


def test_parse_target_defaults_the_port() -> None:
    assert parse_target("https://Hooks.Example.COM/x").port == 443
    assert parse_target("https://hooks.example.com/x").host == "hooks.example.com"
    assert parse_target("http://hooks.example.com:8080/x").port == 8080
    assert parse_target("http://[2001:db8::1]/x").ip == ipaddress.ip_address("2001:db8::1")


def fake_resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in table:
            raise OSError("Name or service not known")
        return [ipaddress.ip_address(a) for a in table[host]]

    return resolve


DNS = {
    "partner.example": ["93.184.215.14"],
    "localhost": ["127.0.0.1", "::1"],
    "internal.example": ["10.20.30.40"],
    "rebind.example": ["93.184.215.14", "192.168.1.10"],
    "metadata.example": ["169.254.169.254"],
}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://127.1.2.3:8080/hooks",
        "http://10.0.0.5/hooks",
        "http://172.16.3.4/hooks",
        "http://192.168.1.1/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hooks",  # carrier-grade NAT
        "http://0.0.0.0/hooks",
        "http://224.0.0.1/hooks",
        "http://240.0.0.1/hooks",
        "http://[::1]/hooks",
        "http://[fe80::1]/hooks",
        "http://[fc00::1]/hooks",
        "http://[ff02::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "https://localhost/hooks",
        "https://internal.example/hooks",
        "https://rebind.example/hooks",  # one private answer is enough to refuse
        "https://metadata.example/hooks",
    ],
)
async def test_guard_refuses_private_and_reserved_targets(url: str) -> None:
    guard = TargetGuard(allow_private=False, resolver=fake_resolver(DNS))
    with pytest.raises(UnsafeWebhookUrl) as raised:
        await guard.vet(url)
    assert raised.value.code == "webhooks.unsafe_url"


async def test_guard_accepts_public_targets_and_pins_the_vetted_address() -> None:
    guard = TargetGuard(allow_private=False, resolver=fake_resolver(DNS))
    vetted = await guard.vet("https://partner.example/hooks?x=1")
    assert vetted.connect_to == ipaddress.ip_address("93.184.215.14")
    literal = await guard.vet("http://93.184.215.14:8080/hooks")
    assert literal.connect_to == ipaddress.ip_address("93.184.215.14")

    async with httpx.AsyncClient() as client:
        request = pinned_request(client, vetted, {"webhook-id": "e1"}, b"{}")
    assert request.url.host == "93.184.215.14"
    assert request.url.path == "/hooks"
    assert request.url.query == b"x=1"
    assert request.headers["host"] == "partner.example"
    assert request.extensions["sni_hostname"] == "partner.example"
    assert request.headers["webhook-id"] == "e1"


async def test_guard_reports_names_that_do_not_resolve() -> None:
    guard = TargetGuard(allow_private=False, resolver=fake_resolver(DNS))
    with pytest.raises(UnresolvableWebhookUrl):
        await guard.vet("https://nowhere.example/hooks")


async def test_guard_allows_private_targets_when_configured_without_resolving() -> None:
    async def no_dns(host: str, port: int) -> list[IPAddress]:
        raise AssertionError("must not resolve")

    guard = TargetGuard(allow_private=True, resolver=no_dns)
    vetted = await guard.vet("http://localhost:8080/hooks")
    assert vetted.connect_to is None
    with pytest.raises(InvalidWebhookUrl):  # the URL's shape is still checked
        await guard.vet("file:///etc/passwd")
